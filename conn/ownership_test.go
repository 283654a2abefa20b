package conn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
)

// What a receiving call returns belongs to the caller, whichever way dst
// is passed: nil, an empty buffer with room (which the Conn trades for its
// own), or a non-empty prefix (appended to). A payload the caller keeps
// is never overwritten by a later receive that was not handed its memory.
func TestReceivedPayloadsBelongToTheCaller(t *testing.T) {
	for _, raw := range []bool{false, true} {
		name := map[bool]string{false: "ReadDataFrame", true: "ReadFrame"}[raw]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, server, _, _ := memPair(nil, nil)
				ctx := context.Background()
				const n = 8
				go func() {
					for i := range n {
						server.WriteMessage(ctx, frame.OpBinary, bytes.Repeat([]byte{byte('a' + i)}, 10+i))
					}
				}()
				read := func(dst []byte) []byte {
					t.Helper()
					var f frame.Frame
					var err error
					if raw {
						f, err = client.ReadFrame(ctx, dst)
					} else {
						f, err = client.ReadDataFrame(ctx, dst)
					}
					if err != nil {
						t.Fatal(err)
					}
					return f.Payload
				}
				want := func(i int) string { return string(bytes.Repeat([]byte{byte('a' + i)}, 10+i)) }
				kept := map[int][]byte{}
				kept[0] = read(nil)
				kept[1] = read(make([]byte, 0, 64))
				kept[2] = read(make([]byte, 0, 4)) // too small: still traded, the Conn grows it later
				p := read([]byte("prefix:"))
				if string(p) != "prefix:"+want(3) {
					t.Errorf("appended to a prefix: %q", p)
				}
				// A buffer handed back is the caller's to give: reuse it.
				reused := read(kept[1][:0])
				delete(kept, 1)
				kept[4] = reused
				kept[5] = read(make([]byte, 0, 64))
				kept[6] = read(kept[0][:0])
				delete(kept, 0)
				kept[7] = read(make([]byte, 0, 64))
				for i, p := range kept {
					if string(p) != want(i) {
						t.Errorf("message %d, kept by the caller, reads %q, want %q", i, p, want(i))
					}
				}
				client.CloseNow()
			})
		})
	}
}

// Receiving into a buffer the caller reuses copies nothing: the payload

// An empty message leaves the buffer the caller passed its own: with
// nothing to trade for, the Conn must not take it for the next message,
// which the caller's later use of the buffer would corrupt: a ping
// returned into it between two fragments (ControlFrames, as the App
// reads), or the caller's own writes after a receive stopped in the middle
// of a message (here with a Logger, which sends the empty message through
// the assembler too).
func TestEmptyMessageKeepsBufferOwned(t *testing.T) {
	frag := func(fin bool, op frame.Opcode, p string) frame.Frame {
		return frame.Frame{Header: frame.Header{Fin: fin, Opcode: op}, Payload: []byte(p)}
	}
	for _, ping := range []bool{true, false} {
		name := map[bool]string{true: "ping between fragments", false: "caller's writes after a timeout"}[ping]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := &conn.Config{ControlFrames: true}
				if !ping {
					cfg = &conn.Config{Logger: slog.New(slog.DiscardHandler)}
				}
				client, server, _, _ := memPair(cfg, nil)
				defer client.CloseNow()
				defer server.CloseNow()
				ctx := context.Background()
				rest := make(chan struct{})
				go func() { // takes the pong
					for {
						if _, err := server.ReadFrame(ctx, nil); err != nil {
							return
						}
					}
				}()
				go func() {
					server.WriteFrame(ctx, frag(!ping, frame.OpText, ""))
					if ping {
						server.WriteFrame(ctx, frag(true, frame.OpContinuation, ""))
					}
					server.WriteFrame(ctx, frag(false, frame.OpText, "hello "))
					if ping {
						server.WriteFrame(ctx, frag(true, frame.OpPing, "XXXXXX"))
					} else {
						<-rest
					}
					server.WriteFrame(ctx, frag(true, frame.OpContinuation, "world"))
				}()
				buf := make([]byte, 0, 64)
				f, err := client.ReadDataFrame(ctx, buf[:0])
				if err != nil || len(f.Payload) != 0 {
					t.Fatalf("first message %q, %v; want an empty one", f.Payload, err)
				}
				buf = f.Payload
				if ping {
					if f, err = client.ReadDataFrame(ctx, buf[:0]); err != nil || f.Opcode != frame.OpPing {
						t.Fatalf("second frame %v, %v; want the ping", f, err)
					}
					buf = f.Payload
				} else {
					short, cancel := context.WithTimeout(ctx, time.Second)
					_, err := client.ReadDataFrame(short, buf[:0])
					cancel()
					if !errors.As(err, new(*conn.TimeoutError)) {
						t.Fatalf("ReadDataFrame = %v, want a timeout between fragments", err)
					}
					copy(buf[:cap(buf)], "XXXXXX") // the caller's buffer, its to use
					close(rest)
				}
				f, err = client.ReadDataFrame(ctx, buf[:0])
				if err != nil || string(f.Payload) != "hello world" {
					t.Errorf("the message after the empty one: %q, %v; want \"hello world\"", f.Payload, err)
				}
			})
		})
	}
}

// comes back in the memory it arrived in.
func BenchmarkReceiveInto(b *testing.B) {
	for _, size := range []int{125, 64 << 10} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			c := dialMemory(b, rawFrame(true, frame.OpBinary, make([]byte, size)))
			ctx := context.Background()
			buf := make([]byte, 0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				f, err := c.ReadDataFrame(ctx, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				buf = f.Payload
			}
		})
	}
}
