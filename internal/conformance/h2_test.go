package conformance

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/framewire/ws/internal/h2test"
)

// TestMain runs the tests in a process that started with
// xconnect.Env, so that the server's HTTP/2 mode is on.
func TestMain(m *testing.M) { h2test.Main(m) }

// h2cScheme marks a base, the server's host:port, whose cases the raw
// client opens over HTTP/2 with prior knowledge.
const h2cScheme = "h2c://"

func transportName(h2 bool) string {
	if h2 {
		return "h2"
	}
	return "http1"
}

// startServer serves srv on loopback over HTTP/1.1 and h2c until the test
// ends, and returns its address.
func startServer(t *testing.T, srv http.Handler) string {
	l, err := Listen(srv, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return strings.TrimPrefix(l.URL, "ws://")
}

// streamClient is the client's side of a WebSocket over an HTTP/2 stream:
// it writes the request body and reads the response body.
type streamClient struct {
	w    *io.PipeWriter
	body io.ReadCloser
	tr   *http2.Transport
}

func (c *streamClient) Read(p []byte) (int, error)  { return c.body.Read(p) }
func (c *streamClient) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close ends the client's side with END_STREAM and, unless the server
// ended its side already, resets the stream.
func (c *streamClient) Close() error {
	c.w.Close()
	c.body.Close()
	c.tr.CloseIdleConnections()
	return nil
}

// h2Transport is an HTTP/2 client with prior knowledge over plain TCP.
func h2Transport() *http2.Transport {
	return &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// connectStream sends an extended CONNECT for path to addr (RFC 8441 §4)
// with the protocol and headers given, on a connection of its own.
func connectStream(t *testing.T, addr, path, protocol string, h http.Header) (*streamClient, *http.Response, error) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodConnect, "http://"+addr+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set(":protocol", protocol)
	tr := h2Transport()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		pw.Close()
		return nil, nil, err
	}
	c := &streamClient{w: pw, body: resp.Body, tr: tr}
	t.Cleanup(func() { c.Close() })
	return c, resp, nil
}

// dialStream opens path on addr over HTTP/2 as dialRawExt does over
// HTTP/1.1.
func dialStream(t *testing.T, addr, path string, exts []string) (*rawConn, []string) {
	t.Helper()
	h := http.Header{"Sec-Websocket-Version": {"13"}}
	if len(exts) > 0 {
		h.Set("Sec-WebSocket-Extensions", strings.Join(exts, ", "))
	}
	c, resp, err := connectStream(t, addr, path, "websocket", h)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Sec-WebSocket-Accept") != "" {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return &rawConn{nc: c, br: bufio.NewReader(c)}, resp.Header.Values("Sec-WebSocket-Extensions")
}

// TestStreamEndings: over HTTP/2, a case that ends with the closing
// handshake ends the server's side of the stream with END_STREAM; one the
// server cuts short (what drops TCP over HTTP/1.1) resets the stream.
func TestStreamEndings(t *testing.T) {
	tests := []struct {
		name     string
		b        behavior
		unmasked bool
		reset    bool
	}{
		{"closing handshake", behavior{}, false, false},
		{"close not answered", behavior{silent: true}, false, true},
		{"unmasked frame", behavior{}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ended error
			runPlayerOn(t, Options{Cases: "1.1.1", Scale: 0.1}, true, func(base, path string) {
				c := dialRaw(t, base, path)
				c.unmask = tt.unmasked
				ended = tt.b.play(c)
			})
			var se http2.StreamError
			switch {
			case tt.reset && (!errors.As(ended, &se) || se.Code != http2.ErrCodeInternal):
				t.Errorf("the stream ended with %v, want RST_STREAM INTERNAL_ERROR", ended)
			case !tt.reset && ended != io.EOF:
				t.Errorf("the stream ended with %v, want END_STREAM (io.EOF)", ended)
			}
		})
	}
}

// TestStreamRefused: an HTTP/2 CONNECT for another protocol, or of
// another WebSocket version, is refused with 400 and opens no case.
func TestStreamRefused(t *testing.T) {
	srv, err := NewServer(Options{Cases: "1.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, srv)
	for _, tt := range []struct {
		protocol, version string
	}{{"chat", "13"}, {"websocket", "8"}, {"websocket", ""}} {
		h := http.Header{}
		if tt.version != "" {
			h.Set("Sec-WebSocket-Version", tt.version)
		}
		_, resp, err := connectStream(t, addr, "/runCase?case=1&agent=x", tt.protocol, h)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf(":protocol %s, version %q: status %d, want 400", tt.protocol, tt.version, resp.StatusCode)
		}
	}
	srv.Wait()
	if rs := srv.Results("x"); len(rs) != 0 {
		t.Errorf("%d results, want none", len(rs))
	}
}

// TestCompressionOverHTTP2: permessage-deflate is negotiated in the
// CONNECT's headers and checked as over HTTP/1.1.
func TestCompressionOverHTTP2(t *testing.T) {
	run := func(cases string, d deflateClient) []Result {
		return runPlayerOn(t, Options{Cases: cases, Scale: 0.1, Messages: 3}, true, func(base, path string) {
			d.play(t, base, path)
		})
	}
	for _, r := range run("12.1.9,13.3.5,13.7.4", deflateClient{offers: anyBits}) {
		if r.Proto != "HTTP/2.0" {
			t.Errorf("%s: Proto %q, want HTTP/2.0", r.Case, r.Proto)
		}
		if r.Verdict != OK || !strings.Contains(r.Result, "The client compressed 3 of them") {
			t.Errorf("%s: %s\n%s", r.Case, r.Verdict, Detail(r))
		}
	}
	r := run("12.1.4", deflateClient{offers: anyBits, rsv1Continuation: true})[0]
	if r.Verdict != Failed || !strings.Contains(r.Observation.Violation, "RSV1 on a continuation frame") {
		t.Errorf("RSV1 on a continuation: %s, violation %q", r.Verdict, r.Observation.Violation)
	}
}

// Listen over TLS serves a certificate for 127.0.0.1 that RootCAs trusts,
// and ALPN chooses h2 or http/1.1 as the client offers; in clear text
// there is no certificate.
func TestListenTLS(t *testing.T) {
	l, err := Listen(http.NotFoundHandler(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr, ok := strings.CutPrefix(l.URL, "wss://")
	if !ok || l.RootCAs == nil {
		t.Fatalf("URL %q, RootCAs %v: want wss:// and a pool", l.URL, l.RootCAs)
	}
	for _, protos := range [][]string{{"h2", "http/1.1"}, {"http/1.1"}} {
		tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: l.RootCAs, ServerName: "127.0.0.1", NextProtos: protos})
		if err != nil {
			t.Fatalf("ALPN %v: %v", protos, err)
		}
		if got := tc.ConnectionState().NegotiatedProtocol; got != protos[0] {
			t.Errorf("ALPN %v chose %q, want %q", protos, got, protos[0])
		}
		tc.Close()
	}
	if tc, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		tc.Close()
		t.Error("the certificate verified without RootCAs")
	}
	plain, err := Listen(http.NotFoundHandler(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if !strings.HasPrefix(plain.URL, "ws://") || plain.RootCAs != nil {
		t.Errorf("clear text: URL %q, RootCAs %v", plain.URL, plain.RootCAs)
	}
}
