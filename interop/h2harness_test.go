package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Servers are the keys of the bed's RFC 8441 echo servers.
var h2Servers = []string{KeyH2Go, KeyH2GoTLS, KeyH2Node, KeyH2NodeTLS, KeyHypercorn, KeyHypercornTLS, KeyHAProxy, KeyHAProxyTLS}

// h2Dial opens a TCP connection to u's host and, for wss, TLS with ALPN
// h2 only. It fails the test unless HTTP/2 was agreed.
func h2Dial(t testing.TB, u *url.URL) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if u.Scheme != "wss" {
		return c
	}
	cfg := tlsConfig(t, "localhost")
	cfg.NextProtos = []string{"h2"}
	tc := tls.Client(c, cfg)
	tc.SetDeadline(time.Now().Add(ioTimeout))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN agreed %q, want h2", p)
	}
	return tc
}

// h2Transport is x/net's HTTP/2 client for u: h2c with prior knowledge
// for ws, TLS for wss.
func h2Transport(t testing.TB, u *url.URL) *http2.Transport {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return h2Dial(t, u), nil
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// h2Stream is the client's side of a WebSocket over an HTTP/2 stream,
// sent through x/net's Transport: the request body carries what the
// client sends, the response body what the server sends.
type h2Stream struct {
	w    *io.PipeWriter
	body io.ReadCloser
}

func (s *h2Stream) Read(p []byte) (int, error)  { return s.body.Read(p) }
func (s *h2Stream) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s *h2Stream) Close() error {
	s.w.Close()
	return s.body.Close()
}
func (s *h2Stream) LocalAddr() net.Addr              { return h2Addr{} }
func (s *h2Stream) RemoteAddr() net.Addr             { return h2Addr{} }
func (s *h2Stream) SetDeadline(time.Time) error      { return nil }
func (s *h2Stream) SetReadDeadline(time.Time) error  { return nil }
func (s *h2Stream) SetWriteDeadline(time.Time) error { return nil }

type h2Addr struct{}

func (h2Addr) Network() string { return "h2" }
func (h2Addr) String() string  { return "h2 stream" }

// h2Connect sends an extended CONNECT (RFC 8441 §4) for rawURL with
// :protocol websocket, version 13 and extra, and returns the response
// and, on 2xx, the stream as a raw WebSocket connection.
func h2Connect(t testing.TB, rawURL string, extra http.Header) (*rawConn, *http.Response, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	hu := *u
	hu.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	req, err := http.NewRequestWithContext(ctx, http.MethodConnect, hu.String(), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = extra.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	resp, err := h2Transport(t, u).RoundTrip(req)
	if err != nil {
		pw.Close()
		return nil, nil, err
	}
	s := &h2Stream{w: pw, body: resp.Body}
	t.Cleanup(func() { s.Close() })
	if resp.StatusCode/100 != 2 {
		return nil, resp, nil
	}
	return &rawConn{Conn: s, br: bufio.NewReader(s)}, resp, nil
}

// h2Upgrade is h2Connect that fails the test unless the server answered
// 200.
func h2Upgrade(t testing.TB, rawURL string, extra http.Header) (*rawConn, *http.Response) {
	t.Helper()
	c, resp, err := h2Connect(t, rawURL, extra)
	if err != nil {
		t.Fatalf("CONNECT %s: %v", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		t.Fatalf("CONNECT %s: status %s, body %q; want 200", rawURL, resp.Status, body)
	}
	return c, resp
}

// h2Probe speaks HTTP/2 frame by frame (x/net's Framer and HPACK), to see
// what a server's SETTINGS hold and how it ends a stream.
type h2Probe struct {
	nc  net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	hb  bytes.Buffer
	// Settings are the server's first SETTINGS.
	settings map[http2.SettingID]uint32
}

// newH2Probe opens a connection to rawURL, exchanges the preface and
// SETTINGS, and returns the probe.
func newH2Probe(t testing.TB, rawURL string) *h2Probe {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	nc := h2Dial(t, u)
	nc.SetDeadline(time.Now().Add(ioTimeout))
	p := &h2Probe{nc: nc, settings: map[http2.SettingID]uint32{}}
	p.fr = http2.NewFramer(nc, bufio.NewReader(nc))
	p.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	p.enc = hpack.NewEncoder(&p.hb)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := p.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	f, err := p.fr.ReadFrame()
	if err != nil {
		t.Fatalf("reading the server's SETTINGS: %v", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("first frame %v, want SETTINGS", f.Header())
	}
	sf.ForeachSetting(func(s http2.Setting) error {
		p.settings[s.ID] = s.Val
		return nil
	})
	if err := p.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	return p
}

// connect sends an extended CONNECT for path on stream 1 and returns the
// response's status and headers. The WebSocket it opens offers nothing.
func (p *h2Probe) connect(t testing.TB, authority, path string) (int, http.Header) {
	t.Helper()
	p.connectHeaders(t, authority, path)
	return p.response(t)
}

// connectHeaders sends the HEADERS of connect.
func (p *h2Probe) connectHeaders(t testing.TB, authority, path string) {
	t.Helper()
	p.hb.Reset()
	for _, f := range [][2]string{
		{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "http"},
		{":path", path}, {":authority", authority}, {"sec-websocket-version", "13"},
	} {
		p.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: p.hb.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// response reads the response to connectHeaders.
func (p *h2Probe) response(t testing.TB) (int, http.Header) {
	t.Helper()
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for the response: %v", err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			h := http.Header{}
			status := 0
			for _, hf := range f.Fields {
				if hf.Name == ":status" {
					fmt.Sscan(hf.Value, &status)
					continue
				}
				h.Add(hf.Name, hf.Value)
			}
			return status, h
		case *http2.RSTStreamFrame:
			t.Fatalf("the server reset the CONNECT: %v", f.ErrCode)
		case *http2.GoAwayFrame:
			t.Fatalf("the server went away: %v", f.ErrCode)
		}
	}
}

// send writes b as one DATA frame on stream 1, ending the client's side
// when end is set.
func (p *h2Probe) send(t testing.TB, b []byte, end bool) {
	t.Helper()
	if err := p.fr.WriteData(1, end, b); err != nil {
		t.Fatal(err)
	}
}

// ending lists what the server sends on stream 1 until it has ended the
// stream both ways (RST_STREAM, or END_STREAM once the client ended its
// side too: clientEnded), the connection fails, or wait passes: "DATA"
// for each DATA frame with a payload, "END_STREAM", "RST_STREAM <code>",
// "GOAWAY <code>", "EOF", or "nothing for <wait>".
func (p *h2Probe) ending(t testing.TB, wait time.Duration, clientEnded bool) []string {
	t.Helper()
	var seen []string
	p.nc.SetReadDeadline(time.Now().Add(wait))
	for {
		f, err := p.fr.ReadFrame()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return append(seen, "nothing for "+wait.String())
		case errors.Is(err, io.EOF):
			return append(seen, "EOF")
		case err != nil:
			t.Fatalf("after %v: %v", seen, err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if len(f.Data()) > 0 {
				seen = append(seen, "DATA")
			}
			if f.StreamEnded() {
				seen = append(seen, "END_STREAM")
				if clientEnded {
					return seen
				}
			}
		case *http2.RSTStreamFrame:
			return append(seen, "RST_STREAM "+f.ErrCode.String())
		case *http2.GoAwayFrame:
			return append(seen, "GOAWAY "+f.ErrCode.String())
		case *http2.PingFrame:
			if !f.IsAck() {
				p.fr.WritePing(true, f.Data)
			}
		}
	}
}

// untilData is ending up to and including the first DATA frame with a
// payload.
func (p *h2Probe) untilData(t testing.TB) []string {
	t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			return []string{err.Error()}
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if len(f.Data()) == 0 {
				break
			}
			if f.StreamEnded() {
				return []string{"DATA", "END_STREAM"}
			}
			return []string{"DATA"}
		case *http2.RSTStreamFrame:
			return []string{"RST_STREAM " + f.ErrCode.String()}
		case *http2.GoAwayFrame:
			return []string{"GOAWAY " + f.ErrCode.String()}
		}
	}
}

// maskedClose is a masked close frame with code 1000 (RFC 6455 §5.5.1).
func maskedClose() []byte {
	var b bytes.Buffer
	key := [4]byte{1, 2, 3, 4}
	p := closePayload(1000, "")
	b.Write([]byte{0x88, 0x80 | byte(len(p))})
	b.Write(key[:])
	for i, c := range p {
		b.WriteByte(c ^ key[i&3])
	}
	return b.Bytes()
}

// hostPort is u's host and port.
func hostPort(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
