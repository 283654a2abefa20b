package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/conformance"
	"github.com/framewire/ws/internal/h2test"
)

// TestMain runs the tests in a process whose HTTP/2 server accepts
// extended CONNECT (see h2test.Main).
func TestMain(m *testing.M) { h2test.Main(m) }

// TestConformance runs the whole suite against framewire's client. Every
// case must be OK, or INFORMATIONAL / UNIMPLEMENTED where Autobahn says so
// for every client.
// Under the race detector it runs the subset of TestConformanceHTTP2.
func TestConformance(t *testing.T) {
	if raceEnabled {
		runSuite(t, config{}, http1, raceSubset, 279)
		return
	}
	runSuite(t, config{}, http1, "", 517)
}

// raceSubset is every case of sections 1 to 7 and 10 and the first and
// last of each group of the others.
const raceSubset = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*,9.*.1,12.*.1,12.*.18,13.*.1,13.*.18"

// TestConformanceHTTP2 runs sections 1 to 7 and 10 and the first cases of
// the others over HTTP/2 (an extended CONNECT per case over h2c), with the
// same verdicts as over HTTP/1.1. make conformance runs all 517 over both
// transports: under the race detector both in full take too long here.
func TestConformanceHTTP2(t *testing.T) {
	runSuite(t, config{}, h2, raceSubset, 279)
}

// tlsSubset is a case or more of each section, every group of 12 and 13;
// it leaves out the fail-fast cases of 6.4, whose verdicts depend on
// timing on a loaded machine.
const tlsSubset = "1.1.*,1.2.8,2.*,3.1,3.7,4.1.1,4.2.5,5.1,5.6,5.19,6.1.*,6.3.*,7.1.*,7.5.1,7.13.1,9.1.1,10.1.1,12.*.1,12.1.18,13.*.1,13.7.18"

// TestConformanceHTTP2TLS runs a case or more of each section over
// HTTP/2 over TLS (the in-process server with a self-signed certificate,
// h2 chosen by ALPN), and the same cases over h2c: the verdicts are the
// expected ones and the same over both.
func TestConformanceHTTP2TLS(t *testing.T) {
	var overTLS atomic.Int32
	countTLS := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/runCase" && r.TLS != nil && r.TLS.NegotiatedProtocol == "h2" && r.ProtoMajor == 2 {
				overTLS.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
	const n = 56
	got := runSuite(t, config{tls: true, wrap: countTLS}, h2, tlsSubset, n)
	if overTLS.Load() != n {
		t.Errorf("%d cases ran over TLS with h2 chosen by ALPN, want %d", overTLS.Load(), n)
	}
	want := runSuite(t, config{}, h2, tlsSubset, n)
	for i := range want {
		g, w := got[i], want[i]
		if g.Case != w.Case || g.Verdict != w.Verdict || g.Behavior != w.Behavior || g.BehaviorClose != w.BehaviorClose {
			t.Errorf("over TLS %s: %s (%s, close %s); over h2c %s: %s (%s, close %s)", g.Case, g.Verdict, g.Behavior, g.BehaviorClose, w.Case, w.Verdict, w.Behavior, w.BehaviorClose)
		}
	}
}

// runSuite runs the cases of the suite that cases selects (all when
// empty), want of them, over tr, with cfg's tls and wrap, and returns
// their results.
func runSuite(t *testing.T, cfg config, tr transport, cases string, want int) []conformance.Result {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out strings.Builder
	cfg = config{agent: "framewire", cases: cases, report: dir, scale: 0.2, messages: 20, transports: []transport{tr}, tls: cfg.tls, wrap: cfg.wrap}
	ok, err := run(ctx, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if !ok {
		t.Errorf("cases FAILED or NON-STRICT:\n%s", out.String())
	}
	var doc struct {
		Agents map[string]struct {
			Cases []conformance.Result `json:"cases"`
		} `json:"agents"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	agent := "framewire" + tr.suffix
	if cfg.tls {
		agent += "-tls"
	}
	checkCases(t, agent, doc.Agents[agent].Cases, want)
	for _, r := range doc.Agents[agent].Cases {
		if r.Proto != tr.proto {
			t.Fatalf("case %s ran over %q, want %s", r.Case, r.Proto, tr.proto)
		}
	}
	if md, err := os.ReadFile(filepath.Join(dir, "conformance.md")); err != nil || !strings.Contains(string(md), "| 6 UTF-8 Handling |") {
		t.Errorf("conformance.md lacks the section 6 row (err %v)", err)
	}
	return doc.Agents[agent].Cases
}

// checkCases checks an agent's results of the whole suite.
func checkCases(t *testing.T, agent string, cases []conformance.Result, want int) {
	t.Helper()
	if len(cases) != want {
		t.Fatalf("%s: report has %d cases, want %d", agent, len(cases), want)
	}
	for _, r := range cases {
		want := conformance.OK
		switch {
		case r.Case == "7.1.6" || strings.HasPrefix(r.Case, "7.13."):
			want = conformance.Informational
		case strings.HasPrefix(r.Case, "12.") || strings.HasPrefix(r.Case, "13."):
			// Compression on the wire: the agent compresses every message.
			if !strings.Contains(r.Result, "The client compressed 20 of them") {
				t.Errorf("%s: case %s: %q, want all 20 messages compressed", agent, r.Case, r.Result)
			}
		}
		if r.Verdict != want {
			t.Errorf("%s: case %s: %s, want %s: %s", agent, r.Case, r.Verdict, want, conformance.Detail(r))
		}
	}
}

// The agent also runs against a server it did not start (-server).
func TestExternalServer(t *testing.T) {
	srv, base, _, stop, err := startServer(config{cases: "1.1.*,2.1", scale: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var out strings.Builder
	ok, err := run(context.Background(), config{server: base, agent: "ext"}, &out)
	if err != nil || !ok {
		t.Fatalf("run: %v, %v\n%s", ok, err, out.String())
	}
	srv.Wait()
	rs := srv.Results("ext")
	if len(rs) != 9 {
		t.Fatalf("%d results, want 9", len(rs))
	}
	for _, r := range rs {
		if r.Verdict != conformance.OK {
			t.Errorf("case %s: %s", r.Case, conformance.Detail(r))
		}
	}
}

// hangCase wraps a fuzzing server so that /runCase?case=n completes the
// opening handshake and then sends nothing until the client goes away.
func hangCase(n string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/runCase" || r.URL.Query().Get("case") != n {
				next.ServeHTTP(w, r)
				return
			}
			nc, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer nc.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
			brw.Flush()
			io.Copy(io.Discard, nc) // until the agent gives up and closes
		})
	}
}

// A case that hangs fails the run after the case timeout, naming the case,
// instead of using up the caller's whole budget.
func TestHungCaseFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := config{agent: "hang", cases: "1.1.1,1.1.2,1.1.3", scale: 0.2, caseTimeout: time.Second, wrap: hangCase("2")}
	var out strings.Builder
	t0 := time.Now()
	ok, err := run(ctx, cfg, &out)
	if ok || err == nil {
		t.Fatalf("run = %v, %v; want an error\n%s", ok, err, out.String())
	}
	if got := err.Error(); !strings.HasPrefix(got, "case 2 (1.1.2): did not end within 1s") {
		t.Errorf("error %q does not name the hung case and the timeout", got)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not match context.DeadlineExceeded", err)
	}
	if ctx.Err() != nil {
		t.Errorf("the hung case used the caller's whole budget (%v)", time.Since(t0))
	}
}

// The default case timeout scales with the case waits.
func TestCaseTimeout(t *testing.T) {
	tests := []struct {
		scale float64
		want  time.Duration
	}{
		{0.2, 106 * time.Second},
		{0.25, 130 * time.Second},
		{1, 490 * time.Second},
		{0, 490 * time.Second},
	}
	for _, tt := range tests {
		if got := caseTimeout(tt.scale); got != tt.want {
			t.Errorf("caseTimeout(%v) = %v; want %v", tt.scale, got, tt.want)
		}
	}
}
