package bench

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
)

// h2HoldServer is the HTTP/2 counterpart of the server of
// BenchmarkIdleConn: an h2c server (prior knowledge) that advertises
// SETTINGS_ENABLE_CONNECT_PROTOCOL, answers every extended CONNECT with
// 200 and then only holds the stream. It speaks HTTP/2 frames itself, one
// goroutine per TCP connection and nothing per stream, so that nearly all
// memory a WebSocket adds is the client's.
//
// With echo set it is the HTTP/2 counterpart of the echo server instead:
// it sends every WebSocket frame back on its stream unmasked and
// unchanged. It does not track the client's flow-control window, so it is
// for messages well under the initial 64 KiB.
type h2HoldServer struct {
	*server
	echo     bool
	accepted atomic.Int32 // TCP connections
	streams  atomic.Int32 // WebSockets accepted
}

func startH2HoldServer(tb testing.TB) *h2HoldServer { return startH2Server(tb, false) }

func startH2EchoServer(tb testing.TB) *h2HoldServer { return startH2Server(tb, true) }

func startH2Server(tb testing.TB, echo bool) *h2HoldServer {
	s := &h2HoldServer{echo: echo}
	s.server = serveEach(tb, s.serve)
	return s
}

// serve runs one HTTP/2 connection until it fails or closes.
func (s *h2HoldServer) serve(nc net.Conn) {
	s.accepted.Add(1)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	bw := bufio.NewWriter(nc) // one write per frame read, as the echo server flushes
	fr := http2.NewFramer(bw, nc)
	fr.SetReuseFrames()
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	pending := map[uint32][]byte{} // echo: bytes of a stream not yet echoed
	var out []byte
	if fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1 << 20},
	) != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				err = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				err = fr.WritePing(true, f.Data)
			}
		case *http2.MetaHeadersFrame:
			status := "400"
			if f.PseudoValue("method") == "CONNECT" && f.PseudoValue("protocol") == "websocket" {
				status = "200"
				s.streams.Add(1)
			}
			block.Reset()
			enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
			err = fr.WriteHeaders(http2.HeadersFrameParam{
				StreamID:      f.StreamID,
				BlockFragment: block.Bytes(),
				EndHeaders:    true,
				EndStream:     status != "200",
			})
		case *http2.DataFrame:
			// Give back the flow-control credit of what was discarded.
			if n := uint32(len(f.Data())); n > 0 {
				if err = fr.WriteWindowUpdate(0, n); err == nil && !f.StreamEnded() {
					err = fr.WriteWindowUpdate(f.StreamID, n)
				}
			}
			if s.echo && err == nil {
				var rest []byte
				buf := append(pending[f.StreamID], f.Data()...)
				out, rest, err = echoFrames(out[:0], buf)
				// Keep the stream's buffer for its next bytes.
				pending[f.StreamID] = append(buf[:0], rest...)
				if err == nil && len(out) > 0 {
					err = fr.WriteData(f.StreamID, false, out)
				}
			}
			if f.StreamEnded() {
				delete(pending, f.StreamID)
			}
		case *http2.RSTStreamFrame:
			delete(pending, f.StreamID)
		case *http2.GoAwayFrame:
			return
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return
		}
	}
}

// echoFrames appends to dst the echo of every whole WebSocket frame at the
// start of p, unmasked, and returns the bytes of p after them. It
// allocates nothing beyond dst's growth, so that a benchmark counts the
// client's allocations.
func echoFrames(dst, p []byte) (out, rest []byte, err error) {
	for {
		h, n, err := frame.ParseHeader(p)
		if err != nil || int64(len(p)-n) < h.Length {
			return dst, p, nil // the rest of the frame is still to come
		}
		if h.Length > maxMessage {
			return dst, nil, errTooBig
		}
		payload := p[n:][:h.Length]
		if h.Masked {
			mask.Apply(payload, h.Key, 0)
			h.Masked = false
		}
		if h.Opcode == frame.OpPing {
			h.Opcode = frame.OpPong
		}
		if dst, err = h.AppendBinary(dst); err != nil {
			return dst, nil, err
		}
		dst = append(dst, payload...)
		p = p[n+int(h.Length):]
	}
}

// framewireHTTP2 is framewire's client with a Dialer that opens every
// WebSocket over HTTP/2 (h2c for ws:// URLs) through pool, so that all of
// them share one HTTP/2 connection per server.
func framewireHTTP2(pool *conn.HTTP2Pool) library {
	return library{name: "framewire-http2", dial: func(ctx context.Context, url string, nd netDial) (client, error) {
		d := conn.Dialer{NetDial: nd, HTTP2: conn.HTTP2Only, HTTP2Pool: pool}
		c, err := d.Dial(ctx, url)
		if err != nil {
			return nil, err
		}
		return &framewireClient{c: c, ctx: context.Background()}, nil
	}}
}

// TestH2HoldServer checks the server of the http2 idle rows: many
// WebSockets dialled through one pool are all accepted, over exactly one
// TCP connection.
func TestH2HoldServer(t *testing.T) {
	const n = 50
	srv := startH2HoldServer(t)
	defer srv.close()
	var pool conn.HTTP2Pool
	defer pool.Close()
	lib := framewireHTTP2(&pool)
	var clients []client
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	for i := range n {
		c, err := lib.dial(t.Context(), srv.url, nil)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		clients = append(clients, c)
	}
	if got := srv.streams.Load(); got != n {
		t.Errorf("server accepted %d WebSockets, want %d", got, n)
	}
	if got := srv.accepted.Load(); got != 1 {
		t.Errorf("server accepted %d TCP connections, want 1", got)
	}
}

// TestH2Echo checks framewire's HTTP/2 client against the h2 echo server
// before BenchmarkHTTP2Echo trusts its numbers.
func TestH2Echo(t *testing.T) {
	srv := startH2EchoServer(t)
	var pool conn.HTTP2Pool
	defer pool.Close()
	c, err := framewireHTTP2(&pool).dial(t.Context(), srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	checkEcho(t, c, []int{0, 1, 125, 126, 4 << 10})
}

// BenchmarkHTTP2Echo is BenchmarkEcho at 125 B for framewire over
// HTTP/1.1 (to the echo server) and over an HTTP/2 stream (h2c, to the echo
// mode of h2HoldServer, which echoes the same way), in one run.
func BenchmarkHTTP2Echo(b *testing.B) {
	const size = 125
	var pool conn.HTTP2Pool
	defer pool.Close()
	rows := []struct {
		lib library
		url string
	}{
		{*framewireLibrary, startEchoServer(b).url},
		{framewireHTTP2(&pool), startH2EchoServer(b).url},
	}
	p := payloadOf(size)
	for _, row := range rows {
		b.Run(sizeName(size)+"/"+row.lib.name, func(b *testing.B) { echoLoop(b, row.lib, row.url, p) })
	}
}
