package conn_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/reader"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// halfPipe is one end of a net.Pipe that can half-close: CloseWrite is
// recorded and ends the peer's reading.
type halfPipe struct {
	net.Conn
	closedWrite atomic.Bool
}

func (h *halfPipe) CloseWrite() error {
	h.closedWrite.Store(true)
	return nil
}

// The wait for the peer's end of stream after failing the connection is
// bounded: by ReplyTimeout when the peer sends nothing more and never
// closes, and by a fixed number of bytes when it never stops sending.
func TestFailureLingerIsBounded(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flood bool
		wait  time.Duration
	}{
		{"silent peer", false, conn.ReplyTimeout},
		{"flooding peer", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				hp := &halfPipe{Conn: client}
				c := conn.New(hp, nil)
				t.Cleanup(func() { c.CloseNow(); peer.Close() })
				var sent atomic.Int64
				go func() {
					// A reserved opcode, then the flood if any.
					peer.Write([]byte{0x83, 0x00})
					junk := make([]byte, 1000)
					for tt.flood {
						n, err := peer.Write(junk)
						sent.Add(int64(n))
						if err != nil {
							return
						}
					}
				}()
				go io.Copy(io.Discard, peer)
				start := time.Now()
				if _, err := c.ReadDataFrame(context.Background(), nil); !errors.Is(err, frame.ErrReservedOpcode) {
					t.Fatalf("err = %v, want %v", err, frame.ErrReservedOpcode)
				}
				if d := time.Since(start); d != tt.wait {
					t.Errorf("failing took %v, want %v", d, tt.wait)
				}
				if !hp.closedWrite.Load() {
					t.Errorf("the transport was not half-closed")
				}
				if n := sent.Load(); n > 80<<10 {
					t.Errorf("the failing call read %d bytes of a flood", n)
				}
			})
		})
	}
}

// A closing handshake after which the peer still sent bytes ends with a
// FIN too: Close reads the peer's close frame, then drops the bytes that
// came after it before closing the socket. Over real TCP, as a socket
// closed with unread input resets the connection.
func TestCloseWithBytesPendingEndsWithFIN(t *testing.T) {
	checkLeaks(t)
	got := make(chan error, 1)
	s := serve(t, func(p *wstest.Peer) {
		p.Upgrade(nil)
		p.ReadClose()
		// The answer, and 32 KiB after it in the same write.
		answer := append([]byte{0x88, 0x02, 0x03, 0xe8}, make([]byte, 32<<10)...)
		p.Write(answer)
		_, end := p.ReadFrame()
		got <- end
	})
	c := dial(t, nil, s.URL)
	if err := c.Close(testCtx(t), status.NormalClosure, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if end := recv(t, got); end != io.EOF {
		t.Errorf("server read after the closing handshake: %v, want io.EOF (a FIN, not a reset)", end)
	}
}

// Once the peer answered Close's close frame, Close waits for its end of
// stream only briefly (RFC 6455 §7.1.1: a server closes TCP at once): a
// server that keeps TCP open costs half a second, not the rest of Close's
// timeout; one that closes at once costs nothing.
func TestCloseGraceAfterAnswer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		closes bool // the server closes TCP after its answer
		wait   time.Duration
	}{
		{"server keeps TCP open", false, 500 * time.Millisecond},
		{"server closes TCP", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				hp := &halfPipe{Conn: client}
				c := conn.New(hp, nil)
				t.Cleanup(func() { c.CloseNow(); peer.Close() })
				go func() {
					rd := reader.New(peer)
					rd.ReadFrame() // the client's close
					payload, _ := status.AppendClose(nil, status.NormalClosure, "")
					b, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: payload}.AppendBinary(nil)
					peer.Write(b)
					if tt.closes {
						peer.Close()
						return
					}
					io.Copy(io.Discard, peer)
				}()
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := c.Close(ctx, status.NormalClosure, ""); err != nil {
					t.Errorf("Close = %v, want nil", err)
				}
				if d := time.Since(start); d != tt.wait {
					t.Errorf("Close took %v, want %v", d, tt.wait)
				}
			})
		})
	}
}

// Once the close frame is sent, the Conn reads what the peer still sends
// until its end or ReplyTimeout (the linger), whatever the receiving
// call's context: a context that ended during the linger cut it short,
// and a TCP socket closed with input unread is reset, which loses the
// close frame if it is still in the send buffer (an outside audit saw
// the peer get 98 KB of 524 KB and no close frame).
func TestLingerOutlivesCallContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		h := &halfPipe{Conn: a}
		c := conn.New(h, nil)
		defer c.CloseNow()
		sent := make(chan time.Duration, 1)
		start := time.Now()
		go func() {
			b.Write([]byte{0x82, 0x81, 1, 2, 3, 4, 5}) // masked: the client fails with 1002
			h, _ := frame.ReadHeader(b)                // the client's close frame
			io.ReadFull(b, make([]byte, h.Length))
			for {
				// The peer keeps sending for a second, then closes.
				if _, err := b.Write([]byte{0x82, 0x01, 'x'}); err != nil || time.Since(start) > time.Second {
					sent <- time.Since(start)
					b.Close()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var fe *frame.Error
		if _, _, err := c.ReadMessage(ctx); !errors.As(err, &fe) || fe.Code != status.ProtocolError {
			t.Errorf("ReadMessage = %v, want the connection failed with 1002", err)
		}
		if took := <-sent; took < time.Second || !h.closedWrite.Load() {
			t.Errorf("the client stopped reading after %v (half-closed %v), want the peer's end at 1s", took, h.closedWrite.Load())
		}
	})
}

// Close's context bounds all of Close, the linger after a failure in its
// drain included: a peer that answers the close frame with a frame that
// breaks RFC 6455, then reads on and never closes, costs Close its
// context's 200 ms, not ReplyTimeout's 5 s.
func TestCloseDrainFailureBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := conn.New(&halfPipe{Conn: a}, nil)
		defer c.CloseNow()
		defer b.Close()
		go func() {
			h, _ := frame.ReadHeader(b) // the client's close frame
			io.ReadFull(b, make([]byte, h.Length))
			b.Write([]byte{0x83, 0x00}) // a reserved opcode
			io.Copy(io.Discard, b)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.Close(ctx, status.NormalClosure, "")
		if took := time.Since(start); took > 200*time.Millisecond {
			t.Errorf("Close = %v after %v, want its context's 200ms at most", err, took)
		}
	})
}
