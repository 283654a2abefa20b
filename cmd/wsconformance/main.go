package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
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
	flag.Parse()

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
