package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	cws "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// client is one library's client connection, driven the way that library
// is meant to be used, receiving into a buffer that is reused (or, where
// the library hands out its own buffer, borrowing it).
type client interface {
	// send sends p as one binary message.
	send(p []byte) error
	// recv returns the next message's payload, valid until the next call.
	recv() ([]byte, error)
	// close closes the connection at once, without a closing handshake.
	close() error
}

// netDial opens the connection a client runs over; nil means TCP.
type netDial = func(ctx context.Context, network, addr string) (net.Conn, error)

// library is a client implementation under test.
type library struct {
	name string
	dial func(ctx context.Context, url string, nd netDial) (client, error)
	// reads says that the library runs its own reading goroutine, so an
	// idle connection needs no caller goroutine blocked in recv.
	reads bool
}

// framewireLibrary is set by the file that drives framewire's conn package.
var framewireLibrary *library

// libraries lists the clients of the echo and idle benchmarks, framewire
// first.
func libraries() []library {
	var libs []library
	if framewireLibrary != nil {
		libs = append(libs, *framewireLibrary)
	}
	return append(libs,
		library{name: "gorilla", dial: dialGorilla},
		library{name: "gorilla-ReadMessage", dial: dialGorillaReadMessage},
		library{name: "coder", dial: dialCoder},
		library{name: "gobwas-lowlevel", dial: dialGobwas},
		library{name: "gobwas-wsutil", dial: dialGobwasWsutil},
		library{name: "gws", dial: dialGws, reads: true},
	)
}

// maxMessage bounds what the clients accept, well above the benchmarks'
// largest message.
const maxMessage = 16 << 20

var errTooBig = errors.New("bench: message too big")

// readAll reads r to its end into buf, which it grows only when a message
// is bigger than any before.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxMessage {
				return buf, errTooBig
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// gorilla/websocket: WriteMessage, and NextReader read into a reused
// buffer (its allocation-light path).

type gorillaClient struct {
	c   *gorilla.Conn
	buf []byte
}

func dialGorilla(ctx context.Context, url string, nd netDial) (client, error) {
	d := *gorilla.DefaultDialer
	d.NetDialContext = nd
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(maxMessage)
	return &gorillaClient{c: c}, nil
}

func (g *gorillaClient) send(p []byte) error { return g.c.WriteMessage(gorilla.BinaryMessage, p) }

func (g *gorillaClient) recv() ([]byte, error) {
	_, r, err := g.c.NextReader()
	if err != nil {
		return nil, err
	}
	g.buf, err = readAll(r, g.buf)
	return g.buf, err
}

func (g *gorillaClient) close() error { return g.c.Close() }

// gorilla/websocket with ReadMessage, the call most applications use.

type gorillaReadMessage struct{ gorillaClient }

func dialGorillaReadMessage(ctx context.Context, url string, nd netDial) (client, error) {
	c, err := dialGorilla(ctx, url, nd)
	if err != nil {
		return nil, err
	}
	return &gorillaReadMessage{*c.(*gorillaClient)}, nil
}

func (g *gorillaReadMessage) recv() ([]byte, error) {
	_, p, err := g.c.ReadMessage()
	return p, err
}

// coder/websocket: Write, and Reader read into a reused buffer.

type coderClient struct {
	c   *cws.Conn
	ctx context.Context
	buf []byte
}

func dialCoder(ctx context.Context, url string, nd netDial) (client, error) {
	return dialCoderWith(ctx, url, nd, cws.CompressionDisabled)
}

// dialCoderWith is dialCoder with the compression mode mode.
func dialCoderWith(ctx context.Context, url string, nd netDial, mode cws.CompressionMode) (client, error) {
	opts := cws.DialOptions{CompressionMode: mode}
	if nd != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: nd}}
	}
	c, _, err := cws.Dial(ctx, url, &opts)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(maxMessage)
	return &coderClient{c: c, ctx: context.Background()}, nil
}

func (c *coderClient) send(p []byte) error {
	return c.c.Write(c.ctx, cws.MessageBinary, p)
}

func (c *coderClient) recv() ([]byte, error) {
	_, r, err := c.c.Reader(c.ctx)
	if err != nil {
		return nil, err
	}
	c.buf, err = readAll(r, c.buf)
	return c.buf, err
}

func (c *coderClient) close() error { return c.c.CloseNow() }

func (c *coderClient) setContext(ctx context.Context) { c.ctx = ctx }

// gobwas/ws low level: the header and the masked payload go through a
// bufio.Writer, and ReadHeaderBuffer and io.ReadFull read from a 4 KiB
// bufio.Reader into a reused buffer. Nothing is validated, and control
// frames are not answered, as the benchmarks send none.

type gobwasClient struct {
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	hdr     []byte
	scratch []byte
	buf     []byte
}

func dialGobwas(ctx context.Context, url string, nd netDial) (client, error) {
	return dialGobwasSize(ctx, url, nd, 4096)
}

// dialGobwasSize is dialGobwas reading through a bufio.Reader of size bytes.
func dialGobwasSize(ctx context.Context, url string, nd netDial, size int) (client, error) {
	nc, br, _, err := ws.Dialer{NetDial: nd}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	src := io.Reader(nc)
	if br != nil {
		src = io.MultiReader(br, nc)
	}
	return &gobwasClient{
		nc:  nc,
		br:  bufio.NewReaderSize(src, size),
		bw:  bufio.NewWriterSize(nc, 64<<10+ws.MaxHeaderSize),
		hdr: make([]byte, ws.MaxHeaderSize),
	}, nil
}

func (g *gobwasClient) send(p []byte) error {
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: ws.NewMask(), Length: int64(len(p))}
	if err := ws.WriteHeaderBuffer(g.bw, h, g.hdr); err != nil {
		return err
	}
	if cap(g.scratch) < len(p) {
		g.scratch = make([]byte, len(p))
	}
	s := g.scratch[:len(p)]
	copy(s, p)
	ws.Cipher(s, h.Mask, 0)
	if _, err := g.bw.Write(s); err != nil {
		return err
	}
	return g.bw.Flush()
}

func (g *gobwasClient) recv() ([]byte, error) {
	h, err := ws.ReadHeaderBuffer(g.br, g.hdr)
	if err != nil {
		return nil, err
	}
	if h.Length > maxMessage {
		return nil, errTooBig
	}
	if h.OpCode == ws.OpClose {
		return nil, io.EOF
	}
	if cap(g.buf) < int(h.Length) {
		g.buf = make([]byte, h.Length)
	}
	g.buf = g.buf[:h.Length]
	_, err = io.ReadFull(g.br, g.buf)
	return g.buf, err
}

func (g *gobwasClient) close() error { return g.nc.Close() }

// gobwas/ws with its wsutil helpers on the bare connection, as its README
// shows them.

type gobwasWsutil struct{ nc net.Conn }

func dialGobwasWsutil(ctx context.Context, url string, nd netDial) (client, error) {
	return dialGobwasTimeout(ctx, url, nd, 0)
}

// dialGobwasTimeout is dialGobwasWsutil with ws.Dialer's Timeout set (zero:
// none, gobwas' default).
func dialGobwasTimeout(ctx context.Context, url string, nd netDial, timeout time.Duration) (client, error) {
	nc, br, _, err := ws.Dialer{NetDial: nd, Timeout: timeout}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br != nil {
		ws.PutReader(br)
		nc.Close()
		return nil, errors.New("bench: unexpected bytes after the handshake")
	}
	return &gobwasWsutil{nc: nc}, nil
}

func (g *gobwasWsutil) send(p []byte) error { return wsutil.WriteClientBinary(g.nc, p) }

func (g *gobwasWsutil) recv() ([]byte, error) { return wsutil.ReadServerBinary(g.nc) }

func (g *gobwasWsutil) close() error { return g.nc.Close() }

// lxzan/gws: WriteMessage, and messages delivered by the ReadLoop
// goroutine to OnMessage, which hands them to recv over a channel.

type gwsClient struct {
	gws.BuiltinEventHandler
	c     *gws.Conn
	msgs  chan *gws.Message
	done  chan struct{} // closed by OnClose
	quit  chan struct{} // closed by close
	once  sync.Once
	err   error
	owned *gws.Message
}

func dialGws(ctx context.Context, url string, nd netDial) (client, error) {
	return dialGwsWith(ctx, url, nd, gws.PermessageDeflate{})
}

// dialGwsWith is dialGws with compression configured as pd.
func dialGwsWith(ctx context.Context, url string, nd netDial, pd gws.PermessageDeflate) (client, error) {
	g := &gwsClient{msgs: make(chan *gws.Message, 1), done: make(chan struct{}), quit: make(chan struct{})}
	if nd == nil {
		var d net.Dialer
		nd = d.DialContext
	}
	c, _, err := gws.NewClient(g, &gws.ClientOption{
		Addr:               url,
		ReadMaxPayloadSize: maxMessage,
		PermessageDeflate:  pd,
		NewDialer: func() (gws.Dialer, error) {
			return ctxDialer{ctx, nd}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	g.c = c
	go c.ReadLoop()
	return g, nil
}

// ctxDialer lets gws dial with the benchmark's context and dial function.
type ctxDialer struct {
	ctx context.Context
	nd  netDial
}

func (d ctxDialer) Dial(network, addr string) (net.Conn, error) {
	return d.nd(d.ctx, network, addr)
}

func (g *gwsClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	select {
	case g.msgs <- m:
	case <-g.quit:
		m.Close()
	}
}

func (g *gwsClient) OnClose(_ *gws.Conn, err error) {
	g.once.Do(func() {
		g.err = fmt.Errorf("bench: gws closed: %w", err)
		close(g.done)
	})
}

func (g *gwsClient) send(p []byte) error { return g.c.WriteMessage(gws.OpcodeBinary, p) }

func (g *gwsClient) recv() ([]byte, error) {
	if g.owned != nil {
		g.owned.Close()
		g.owned = nil
	}
	select {
	case m := <-g.msgs:
		g.owned = m
		return m.Bytes(), nil
	case <-g.done:
		return nil, g.err
	}
}

func (g *gwsClient) close() error {
	close(g.quit)
	return g.c.NetConn().Close()
}
