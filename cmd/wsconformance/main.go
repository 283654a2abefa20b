package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"

	"github.com/framewire/ws/internal/xconnect"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.server, "server", "", "URL of a running fuzzing server (default: in-process)")
	flag.StringVar(&cfg.agent, "agent", "framewire", "agent name in the reports")
	flag.StringVar(&cfg.cases, "cases", "", `case ID patterns to run, e.g. "1.*,2.1"`)
	flag.StringVar(&cfg.exclude, "exclude", "", "case ID patterns to leave out")
	flag.StringVar(&cfg.report, "report", "", "directory for conformance.md and conformance.json")
	flag.Float64Var(&cfg.scale, "scale", 0.25, "multiplier of every wait of every case")
	flag.IntVar(&cfg.messages, "messages", 20, "messages per case of sections 12 and 13 (Autobahn: 1000)")
	flag.DurationVar(&cfg.caseTimeout, "case-timeout", 0, "longest a case may take before the run fails (default: 10s + 480s × scale)")
	flag.BoolVar(&cfg.verbose, "v", false, "print each case's verdict as it ends")
	flag.BoolVar(&cfg.tls, "tls", false, "serve and dial over TLS, with a self-signed certificate (in-process only)")
	tr := flag.String("transport", "http1", "transports to run the cases over: http1, h2 or both")
	flag.Parse()
	var err error
	if cfg.transports, err = parseTransports(*tr); err != nil {
		fmt.Fprintln(os.Stderr, "wsconformance:", err)
		os.Exit(2)
	}
	// The in-process server's HTTP/2 mode needs GODEBUG at start.
	if cfg.server == "" && slices.Contains(cfg.transports, h2) {
		if status, ran := xconnect.Reexec(); ran {
			os.Exit(status)
		}
	}

	if cfg.tls && cfg.server != "" {
		fmt.Fprintln(os.Stderr, "wsconformance: -tls serves the in-process server: give a wss:// URL to -server instead")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsconformance:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}
