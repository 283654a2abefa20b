package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/conformance"
	"github.com/framewire/ws/proxy"
)

// config holds the command's flags.
type config struct {
	server, agent, cases, exclude, report string
	scale                                 float64
	messages                              int // per case of sections 12 and 13; 0: Autobahn's 1,000
	verbose                               bool
	// tls serves the in-process server over TLS, with a self-signed
	// certificate the agent trusts: ALPN chooses HTTP/1.1 or HTTP/2.
	tls         bool
	caseTimeout time.Duration // 0: caseTimeout(scale)
	// transports are the transports to run the suite over, in order;
	// none means HTTP/1.1 alone.
	transports []transport

	// wrap, if set, wraps the in-process server's handler (tests).
	wrap func(http.Handler) http.Handler
}

// maxCaseWait is the longest wait of any case at scale 1 (the 12.x and
// 13.x cases wait up to 480 seconds for all their echoes), and caseMargin
// what a case may need beyond its waits (transfers, closing handshakes).
const (
	maxCaseWait = 480 * time.Second
	caseMargin  = 10 * time.Second
)

// caseTimeout bounds one case as the agent sees it: the longest wait of
// any case at the given scale (0 means 1, as for the server) plus a
// margin, so a case that hangs fails the run. It is 130 seconds at scale
// 0.25.
func caseTimeout(scale float64) time.Duration {
	if scale <= 0 {
		scale = 1
	}
	return time.Duration(float64(maxCaseWait)*scale) + caseMargin
}

// transport is how the agent opens each case's WebSocket.
type transport struct {
	name   string         // in the summary: "HTTP/1.1", "HTTP/2"
	proto  string         // conformance.Result.Proto of its cases
	suffix string         // added to the agent's name in the reports
	mode   conn.HTTP2Mode // the Dialer's HTTP2
}

var (
	http1 = transport{name: "HTTP/1.1", proto: "HTTP/1.1", mode: conn.HTTP2Off}
	// h2 is an extended CONNECT (RFC 8441) over h2c with prior knowledge,
	// one HTTP/2 connection per WebSocket.
	h2 = transport{name: "HTTP/2", proto: "HTTP/2.0", suffix: "-h2", mode: conn.HTTP2Only}
)

// parseTransports reads the -transport flag: "http1", "h2" or "both".
func parseTransports(s string) ([]transport, error) {
	switch s {
	case "http1":
		return []transport{http1}, nil
	case "h2":
		return []transport{h2}, nil
	case "both":
		return []transport{http1, h2}, nil
	}
	return nil, fmt.Errorf("-transport %q: want http1, h2 or both", s)
}

// dialer is the agent's client configuration: conn's defaults, with the
// environment's proxy settings ignored (the server is on loopback), and
// permessage-deflate offered with the default preset ("permessage-deflate;
// client_max_window_bits", so that every accept policy of section 13 can
// take it), compressing every message whatever its size so that sections
// 12 and 13 check all of them.
// roots, when not nil, is what the agent trusts over TLS.
func dialer(mode conn.HTTP2Mode, roots *x509.CertPool) *conn.Dialer {
	d := &conn.Dialer{Proxy: proxy.Direct, HTTP2: mode}
	if roots != nil {
		d.TLSConfig = &tls.Config{RootCAs: roots}
	}
	d.Config.Compression = &conn.Compression{Threshold: -1}
	return d
}

// run runs the suite over each transport of cfg and writes the summaries
// to w. It reports whether every case is OK, INFORMATIONAL or
// UNIMPLEMENTED over every transport.
func run(ctx context.Context, cfg config, w io.Writer) (bool, error) {
	base := cfg.server
	var srv *conformance.Server
	var roots *x509.CertPool
	if base == "" {
		var stop func()
		var err error
		srv, base, roots, stop, err = startServer(cfg)
		if err != nil {
			return false, err
		}
		defer stop()
	}
	trs := cfg.transports
	if len(trs) == 0 {
		trs = []transport{http1}
	}
	var agents []string
	all := map[string][]conformance.Result{}
	good := true
	for i, tr := range trs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if cfg.tls {
			tr.name += " over TLS"
			tr.suffix += "-tls"
		}
		agent := cfg.agent + tr.suffix
		ok, err := runOver(ctx, cfg, tr, agent, srv, base, dialer(tr.mode, roots), w)
		if err != nil && len(trs) > 1 {
			err = fmt.Errorf("over %s: %w", tr.name, err)
		}
		if err != nil {
			return false, err
		}
		good = good && ok
		if srv != nil {
			agents = append(agents, agent)
			all[agent] = srv.Results(agent)
		}
	}
	if srv != nil && cfg.report != "" {
		if err := conformance.WriteReportFiles(cfg.report, agents, all); err != nil {
			return false, err
		}
	}
	return good, nil
}

// runOver runs the suite over one transport as agent, dialing with d.
func runOver(ctx context.Context, cfg config, tr transport, agent string, srv *conformance.Server, base string, d *conn.Dialer, w io.Writer) (bool, error) {
	start := time.Now()
	n, err := caseCount(ctx, d, base)
	if err != nil {
		return false, fmt.Errorf("getCaseCount: %w", err)
	}
	limit := cfg.caseTimeout
	switch {
	case limit > 0:
	case cfg.server != "":
		limit = caseTimeout(1) // the server's timings are unknown
	default:
		limit = caseTimeout(cfg.scale)
	}
	var ids []string
	if srv != nil {
		for _, c := range srv.Cases() {
			ids = append(ids, c.ID)
		}
	}
	for i := 1; i <= n; i++ {
		name := caseName(ids, i)
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("before %s: %w", name, err)
		}
		u := fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, url.QueryEscape(agent))
		cctx, cancel := context.WithTimeout(ctx, limit)
		echoErr := echo(cctx, d, u)
		// The socket's deadline can fire a moment before the context
		// notices, hence the errors.Is.
		hung := echoErr != nil && (cctx.Err() != nil || errors.Is(echoErr, context.DeadlineExceeded))
		caseEnd, _ := cctx.Deadline()
		cancel()
		if cfg.verbose {
			fmt.Fprintf(w, "%s: %v\n", name, describe(echoErr))
		}
		end, bounded := ctx.Deadline()
		switch {
		case ctx.Err() != nil, hung && bounded && !end.After(caseEnd):
			return false, fmt.Errorf("%s: stopped: %w", name, cmp.Or(ctx.Err(), echoErr))
		case hung:
			return false, fmt.Errorf("%s: did not end within %v: %w", name, limit, echoErr)
		}
	}
	if err := command(ctx, d, fmt.Sprintf("%s/updateReports?agent=%s", base, url.QueryEscape(agent))); err != nil {
		return false, fmt.Errorf("updateReports: %w", err)
	}
	elapsed := time.Since(start)
	if srv == nil {
		fmt.Fprintf(w, "%d cases run over %s against %s in %v; see the server's reports.\n", n, tr.name, base, elapsed.Round(time.Millisecond))
		return true, nil
	}
	srv.Wait()
	results := srv.Results(agent)
	fmt.Fprintf(w, "Transport %s\n", tr.name)
	if err := conformance.WriteText(w, agent, results); err != nil {
		return false, err
	}
	fmt.Fprintf(w, "\nSuite duration over %s: %v\n", tr.name, elapsed.Round(time.Millisecond))
	return len(conformance.Problems(results)) == 0, nil
}

// startServer starts a fuzzing server on a loopback port and returns it
// with its base URL (ws://, or wss:// with cfg.tls), the roots that trust
// its certificate over TLS, and a function that stops it.
func startServer(cfg config) (srv *conformance.Server, base string, roots *x509.CertPool, stop func(), err error) {
	srv, err = conformance.NewServer(conformance.Options{Cases: cfg.cases, Exclude: cfg.exclude, Scale: cfg.scale, Messages: cfg.messages})
	if err != nil {
		return nil, "", nil, nil, err
	}
	var h http.Handler = srv
	if cfg.wrap != nil {
		h = cfg.wrap(srv)
	}
	l, err := conformance.Listen(h, cfg.tls)
	if err != nil {
		return nil, "", nil, nil, err
	}
	stop = func() {
		l.Close()
		srv.Wait()
	}
	return srv, l.URL, l.RootCAs, stop, nil
}

// caseName names case i (numbered from 1) for messages: its number, and
// its ID when known (ids lists the IDs of an in-process server's cases).
func caseName(ids []string, i int) string {
	if i >= 1 && i <= len(ids) {
		return fmt.Sprintf("case %d (%s)", i, ids[i-1])
	}
	return fmt.Sprintf("case %d", i)
}

// caseCount asks the server how many cases it runs.
func caseCount(ctx context.Context, d *conn.Dialer, base string) (int, error) {
	c, err := d.Dial(ctx, base+"/getCaseCount")
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	df, err := c.ReadDataFrame(ctx, nil)
	_, p := df.Opcode, df.Payload
	if err != nil {
		return 0, err
	}
	var n int
	if err := json.Unmarshal(p, &n); err != nil {
		return 0, fmt.Errorf("getCaseCount answered %q: %w", p, err)
	}
	c.Close(ctx, 1000, "")
	return n, nil
}

// command opens a command URL and waits for the server to close it.
func command(ctx context.Context, d *conn.Dialer, u string) error {
	c, err := d.Dial(ctx, u)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for {
		df, err := c.ReadDataFrame(ctx, nil)
		op, _ := df.Opcode, df.Payload
		if err != nil || op == frame.OpClose {
			return nil
		}
	}
}

// echo is the echo agent for one case: it sends back every message it
// receives, with the same opcode and payload, until the connection closes
// or fails. The error says how it ended (nil for a close by the server).
func echo(ctx context.Context, d *conn.Dialer, u string) error {
	c, err := d.Dial(ctx, u)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for {
		df, err := c.ReadDataFrame(ctx, nil)
		op, p := df.Opcode, df.Payload
		if err != nil {
			return err
		}
		if op == frame.OpClose {
			return nil
		}
		if err := c.WriteMessage(ctx, op, p); err != nil {
			return err
		}
	}
}

// describe says how a case ended for the agent.
func describe(err error) string {
	var fe *frame.Error
	switch {
	case err == nil:
		return "closed by the server"
	case errors.As(err, &fe):
		return "failed the connection with " + strconv.Itoa(int(fe.Code)) + ": " + err.Error()
	}
	return err.Error()
}
