package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framewire/ws/app"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
	"github.com/framewire/ws/wstest"
)

// These tests run an App over real connections to an in-bubble peer
// (peer_test.go) inside synctest bubbles.

type log struct {
	mu     sync.Mutex
	events []string
	errs   []error
}

func (l *log) add(s string) {
	l.mu.Lock()
	l.events = append(l.events, s)
	l.mu.Unlock()
}

func logged(a *app.App) *log {
	l := &log{}
	a.OnOpen = func(*app.App) { l.add("open") }
	a.OnReconnect = func(*app.App) { l.add("reconnect") }
	a.OnMessage = func(_ *app.App, op frame.Opcode, p []byte) { l.add(op.String() + " " + string(p)) }
	a.OnError = func(_ *app.App, err error) {
		l.add("error")
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
	}
	a.OnClose = func(_ *app.App, code status.Code, reason string) { l.add("close " + code.String() + " " + reason) }
	return l
}

func TestConnGracefulServerClose(t *testing.T) {
	srv := pipeDialer(func(p *peer) {
		p.write(frame.OpText, []byte("hello"))
		p.writeClose(4001, "bye!")
		p.serveFrames(false, false)
	})
	synctest.Test(t, func(t *testing.T) {
		a := &app.App{URL: "ws://peer/", Dialer: srv, Reconnect: &app.Backoff{Initial: time.Millisecond}}
		l := logged(a)
		err := a.Run(t.Context())
		var ce *status.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye!" {
			t.Errorf("Run = %v; want the peer's close 4001", err)
		}
		want := []string{"open", "text hello", "close " + status.Code(4001).String() + " bye!"}
		if d := cmp.Diff(want, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}

func TestConnEchoAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &app.App{URL: "ws://peer/", Dialer: pipeDialer(echoPeer), PingInterval: time.Second}
		l := logged(a)
		pongs := 0
		a.OnPong = func(a *app.App, p []byte) {
			pongs++
			if pongs == 2 {
				a.Close(context.Background(), status.GoingAway, "enough")
			}
		}
		a.OnOpen = func(a *app.App) {
			l.add("open")
			a.WriteMessage(context.Background(), frame.OpText, []byte("one"))
			a.WriteMessage(context.Background(), frame.OpBinary, []byte("two"))
		}
		t0 := time.Now()
		err := a.Run(t.Context())
		if err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		if got := time.Since(t0); got != 2*time.Second {
			t.Errorf("second pong after %v; want 2s (first ping one interval after open)", got)
		}
		want := []string{"open", "text one", "binary two", "close " + status.GoingAway.String() + " enough"}
		if d := cmp.Diff(want, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}

// deafPeer dials a peer that never answers a ping and hands each close
// frame the client sends to onClose.
func deafPeer(onClose func(p *peer, payload []byte)) *conn.Dialer {
	return pipeDialer(func(p *peer) {
		for {
			f, err := p.read()
			if err != nil {
				return
			}
			if f.Opcode == frame.OpClose {
				onClose(p, f.Payload)
			}
		}
	})
}

// A missing pong fails the connection as RFC 6455 §7.1.7 says: a close
// frame with 1011 goes out, and the connection is closed once the peer
// answered it, or after a second when it does not.
func TestConnPongTimeout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer bool
		after  time.Duration // from Run's start to its end
	}{
		{"answered", true, 1500 * time.Millisecond},
		{"silent", false, 2500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				closes := make(chan string, 1)
				srv := deafPeer(func(p *peer, payload []byte) {
					code, reason, _ := status.ParseClose(payload)
					closes <- fmt.Sprintf("%d %s", code, reason)
					if tc.answer {
						p.write(frame.OpClose, payload)
					}
				})
				a := &app.App{URL: "ws://peer/", Dialer: srv, PingInterval: time.Second, PingTimeout: 500 * time.Millisecond}
				l := logged(a)
				t0 := time.Now()
				err := a.Run(t.Context())
				if !errors.Is(err, app.ErrPongTimeout) {
					t.Errorf("Run = %v; want ErrPongTimeout", err)
				}
				if got := time.Since(t0); got != tc.after {
					t.Errorf("failed after %v; want %v", got, tc.after)
				}
				select {
				case got := <-closes:
					if want := "1011 ping/pong timed out"; got != want {
						t.Errorf("peer got close %q; want %q", got, want)
					}
				default:
					t.Error("peer got no close frame")
				}
				want := []string{"open", "error", "close " + status.AbnormalClosure.String() + " "}
				if d := cmp.Diff(want, l.events); d != "" {
					t.Errorf("events (-want +got):\n%s", d)
				}
			})
		})
	}
}

// A closing handshake that App.Close began is bounded by CloseTimeout
// alone: a pong that goes missing meanwhile does not fail the connection.
// The peer never answers a ping and answers the close 300 ms late; Close
// is called just after the first ping, so the pong timeout passes while
// Close waits. Run returns nil and OnClose gets the peer's code.
func TestCloseNotCutByPongTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := deafPeer(func(p *peer, payload []byte) {
			time.Sleep(300 * time.Millisecond)
			p.write(frame.OpClose, payload)
		})
		a := &app.App{URL: "ws://peer/", Dialer: srv, PingInterval: 200 * time.Millisecond, PingTimeout: 100 * time.Millisecond, CloseTimeout: 2 * time.Second}
		l := logged(a)
		closed := make(chan error, 1)
		a.OnOpen = func(a *app.App) {
			l.add("open")
			go func() {
				time.Sleep(220 * time.Millisecond) // just after the first ping
				closed <- a.Close(context.Background(), 4000, "bye")
			}()
		}
		t0 := time.Now()
		if err := a.Run(t.Context()); err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		if err := <-closed; err != nil {
			t.Errorf("Close = %v; want nil", err)
		}
		if got, want := time.Since(t0), 520*time.Millisecond; got != want {
			t.Errorf("Run returned after %v; want %v (the peer's answer)", got, want)
		}
		want := []string{"open", "close " + status.Code(4000).String() + " bye"}
		if d := cmp.Diff(want, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}

// A ping payload a control frame cannot carry is refused before Run
// connects, rather than silently sending no ping at all.
func TestLongPingPayloadInvalid(t *testing.T) {
	a := &app.App{URL: "ws://peer/", PingInterval: time.Second, PingPayload: make([]byte, 126)}
	if err := a.Run(t.Context()); !errors.Is(err, app.ErrInvalid) || !strings.Contains(err.Error(), "PingPayload") {
		t.Errorf("Run = %v; want ErrInvalid naming PingPayload", err)
	}
}

func TestConnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		closes := make(chan status.Code, 1)
		srv := pipeDialer(func(p *peer) {
			code, _ := p.serveFrames(false, false)
			closes <- code
		})
		ctx, cancel := context.WithCancel(t.Context())
		a := &app.App{URL: "ws://peer/", Dialer: srv}
		l := logged(a)
		a.OnOpen = func(*app.App) { cancel() }
		err := a.Run(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v; want context.Canceled", err)
		}
		if code := <-closes; code != status.NormalClosure {
			t.Errorf("server got close %v; want 1000", code)
		}
		want := []string{"close " + status.NormalClosure.String() + " "}
		if d := cmp.Diff(want, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}

func TestConnProtocolErrorReconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		n := 0
		srv := pipeDialer(func(p *peer) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first {
				p.writeRaw([]byte{0x83, 0}) // reserved opcode: the client fails the connection with 1002
			} else {
				p.writeClose(status.NormalClosure, "")
			}
			p.serveFrames(false, false)
		})
		a := &app.App{URL: "ws://peer/", Dialer: srv, Reconnect: &app.Backoff{}}
		l := logged(a)
		err := a.Run(t.Context())
		if err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		want := []string{"open", "error", "close " + status.AbnormalClosure.String() + " ", "reconnect", "close " + status.NormalClosure.String() + " "}
		if d := cmp.Diff(want, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
		var fe *frame.Error
		if len(l.errs) != 1 || !errors.As(l.errs[0], &fe) || fe.Code != status.ProtocolError {
			t.Errorf("errors %v; want one *frame.Error with code 1002", l.errs)
		}
	})
}

// Over a real connection: pongs that arrive while OnMessage sleeps are
// read after it returns, and the connection carries on.
func TestConnSlowHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &app.App{URL: "ws://peer/", Dialer: pipeDialer(echoPeer), PingInterval: time.Second, PingTimeout: 500 * time.Millisecond}
		l := logged(a)
		a.OnOpen = func(a *app.App) {
			l.add("open")
			a.WriteMessage(context.Background(), frame.OpText, []byte("slow"))
		}
		a.OnMessage = func(_ *app.App, op frame.Opcode, p []byte) {
			l.add(op.String() + " " + string(p))
			time.Sleep(2 * time.Second)
		}
		pongs := 0
		a.OnPong = func(a *app.App, p []byte) {
			if pongs++; pongs == 4 {
				a.Close(context.Background(), status.NormalClosure, "")
			}
		}
		t0 := time.Now()
		err := a.Run(t.Context())
		if err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		// Pings at 1s and 2s are answered while the handler sleeps; their
		// pongs are read at 2s, then one pong per second.
		if got := time.Since(t0); got != 4*time.Second {
			t.Errorf("fourth pong after %v; want 4s", got)
		}
		want := []string{"open", "text slow", "close " + status.NormalClosure.String() + " "}
		if d := cmp.Diff(want, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}

// Over a real connection: the first ping goes out one interval after the
// connection opens, while OnOpen still runs.
func TestConnPingDuringSlowOnOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &app.App{URL: "ws://peer/", Dialer: pipeDialer(echoPeer), PingInterval: time.Second, PingTimeout: 500 * time.Millisecond}
		l := logged(a)
		a.OnOpen = func(*app.App) {
			l.add("open")
			time.Sleep(3 * time.Second)
		}
		var at []time.Duration
		t0 := time.Now()
		a.OnPong = func(a *app.App, p []byte) {
			at = append(at, time.Since(t0))
			if len(at) == 4 {
				a.Close(context.Background(), status.NormalClosure, "")
			}
		}
		err := a.Run(t.Context())
		if err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		// The pongs of the pings at 1s, 2s and 3s are read when OnOpen
		// returns; the next comes at 4s.
		want := []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, 4 * time.Second}
		if d := cmp.Diff(want, at); d != "" {
			t.Errorf("pong times (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"open", "close " + status.NormalClosure.String() + " "}, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}

// closePeer returns a handler that reads client frames until a close
// frame, waits delay, answers with code and reason unless silent, then
// reads on until the client drops the connection. It reports on closes
// how many close frames it read.
func closePeer(delay time.Duration, silent bool, code status.Code, reason string, closes chan<- int) func(p *peer) {
	return func(p *peer) {
		n := 0
		for {
			f, err := p.read()
			if err != nil {
				closes <- n
				return
			}
			if f.Opcode != frame.OpClose {
				continue
			}
			if n++; n == 1 && !silent {
				time.Sleep(delay)
				p.writeClose(code, reason)
			}
		}
	}
}

// App.Close from another goroutine while Run reads is one closing
// handshake, conn.Conn.Close's: one close frame goes out, Close returns
// once the peer has answered (or, for a silent peer, after CloseTimeout,
// when the connection is dropped), and OnClose gets the peer's code and
// reason, or 1006 when none came.
func TestConnCloseHandshake(t *testing.T) {
	tests := []struct {
		name   string
		silent bool
		took   time.Duration
		close  string
	}{
		{"answered", false, time.Second, "close " + status.NormalClosure.String() + " ok"},
		{"silent", true, 2 * time.Second, "close " + status.AbnormalClosure.String() + " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				closes := make(chan int, 1)
				srv := pipeDialer(closePeer(time.Second, tt.silent, status.NormalClosure, "ok", closes))
				a := &app.App{URL: "ws://peer/", Dialer: srv, CloseTimeout: 2 * time.Second}
				l := logged(a)
				done := make(chan error, 1)
				go func() { done <- a.Run(t.Context()) }()
				synctest.Wait()
				t0 := time.Now()
				if err := a.Close(t.Context(), status.GoingAway, "bye"); err != nil {
					t.Errorf("Close = %v", err)
				}
				if got := time.Since(t0); got != tt.took {
					t.Errorf("Close returned after %v; want %v", got, tt.took)
				}
				if err := <-done; err != nil {
					t.Errorf("Run = %v; want nil", err)
				}
				if got := time.Since(t0); got != tt.took {
					t.Errorf("Run returned after %v; want %v", got, tt.took)
				}
				if n := <-closes; n != 1 {
					t.Errorf("peer read %d close frames; want 1", n)
				}
				if d := cmp.Diff([]string{"open", tt.close}, l.events); d != "" {
					t.Errorf("events (-want +got):\n%s", d)
				}
			})
		})
	}
}

// App.Close from a handler, on Run's goroutine, with a peer that never
// answers: the connection is dropped after CloseTimeout.
func TestConnCloseFromHandlerSilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		closes := make(chan int, 1)
		srv := pipeDialer(closePeer(0, true, 0, "", closes))
		a := &app.App{URL: "ws://peer/", Dialer: srv, CloseTimeout: 2 * time.Second}
		l := logged(a)
		t0 := time.Now()
		a.OnOpen = func(a *app.App) {
			l.add("open")
			a.Close(context.Background(), status.NormalClosure, "")
		}
		if err := a.Run(t.Context()); err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		if got := time.Since(t0); got != 2*time.Second {
			t.Errorf("Run returned after %v; want the CloseTimeout, 2s", got)
		}
		if n := <-closes; n != 1 {
			t.Errorf("peer read %d close frames; want 1", n)
		}
		if d := cmp.Diff([]string{"open", "close " + status.AbnormalClosure.String() + " "}, l.events); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}

// Messages that arrive together are read in bursts and handed to the
// handlers one by one, in order, a ping among them included; a frame that
// breaks the protocol after them fails the connection only once the
// messages before it were handled.
func TestConnBurst(t *testing.T) {
	burst := func(bad bool) []byte {
		var b []byte
		for i := range 20 {
			if i == 10 {
				b, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("p")}.AppendBinary(b)
			}
			b, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText}, Payload: fmt.Appendf(nil, "m%d", i)}.AppendBinary(b)
		}
		if bad {
			return append(b, 0x92, 0x00) // RSV1 on a binary frame, no extension agreed
		}
		payload, _ := status.AppendClose(nil, 4002, "done")
		b, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: payload}.AppendBinary(b)
		return b
	}
	for _, bad := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			srv := pipeDialer(func(p *peer) {
				p.writeRaw(burst(bad))
				p.serveFrames(false, false)
			})
			a := &app.App{URL: "ws://peer/", Dialer: srv}
			l := logged(a)
			a.OnPing = func(_ *app.App, p []byte) { l.add("ping " + string(p)) }
			err := a.Run(t.Context())
			want := []string{"open"}
			for i := range 20 {
				if i == 10 {
					want = append(want, "ping p")
				}
				want = append(want, fmt.Sprintf("text m%d", i))
			}
			if bad {
				if err == nil || len(l.events) < len(want)+1 || l.events[len(want)] != "error" {
					t.Fatalf("Run = %v, events %q: want the messages, then the error", err, l.events)
				}
				l.events = l.events[:len(want)]
			} else {
				var ce *status.CloseError
				if !errors.As(err, &ce) || ce.Code != 4002 {
					t.Fatalf("Run = %v; want the peer's close 4002", err)
				}
				want = append(want, "close "+status.Code(4002).String()+" done")
			}
			if d := cmp.Diff(want, l.events); d != "" {
				t.Errorf("bad frame %v: events (-want +got):\n%s", bad, d)
			}
		})
	}
}

// A message that arrived together with the peer's close is handed to its
// handler before the close is answered, as websocket-client does: a reply
// the handler sends reaches the peer before the answering close frame.
func TestReplyBeforePeerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan []string, 1)
		srv := pipeDialer(func(p *peer) {
			var b []byte
			b, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpText}, Payload: []byte("request")}.AppendBinary(b)
			payload, _ := status.AppendClose(nil, status.NormalClosure, "")
			b, _ = frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpClose}, Payload: payload}.AppendBinary(b)
			p.writeRaw(b)
			var seen []string
			for {
				f, err := p.read()
				if err != nil {
					break
				}
				seen = append(seen, fmt.Sprint(f.Opcode, " ", string(f.Payload)))
				if f.Opcode == frame.OpClose {
					break
				}
			}
			got <- seen
		})
		a := &app.App{URL: "ws://peer/", Dialer: srv}
		var replyErr error
		a.OnMessage = func(a *app.App, _ frame.Opcode, p []byte) {
			replyErr = a.WriteMessage(context.Background(), frame.OpText, []byte("reply to "+string(p)))
		}
		if err := a.Run(t.Context()); err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
		if replyErr != nil {
			t.Errorf("the handler's reply failed: %v", replyErr)
		}
		want := []string{"text reply to request", "close \x03\xe8"}
		if d := cmp.Diff(want, <-got); d != "" {
			t.Errorf("peer read (-want +got):\n%s", d)
		}
	})
}

// The fields of the Header function replace the Dialer's of the same
// name, whatever its case, and leave the others: a refreshed token is
// sent alone, not after the stale one.
func TestHeaderReplacesDialers(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := wstest.NewServer(func(p *wstest.Peer) {
		got <- p.Request.Header
		p.Upgrade(nil)
		p.WriteClose(status.NormalClosure, "")
	})
	defer srv.Close()
	d := srv.Dialer()
	d.Header = http.Header{"Authorization": {"Bearer old"}, "X-Keep": {"1"}}
	a := &app.App{URL: srv.URL, Dialer: d, Header: func(context.Context) (http.Header, error) {
		return http.Header{"authorization": {"Bearer new"}}, nil
	}}
	a.Run(t.Context())
	h := <-got
	if v := h.Values("Authorization"); !slices.Equal(v, []string{"Bearer new"}) || h.Get("X-Keep") != "1" {
		t.Errorf("Authorization %q, X-Keep %q; want the new token alone, and 1", v, h.Get("X-Keep"))
	}
	if d.Header.Get("Authorization") != "Bearer old" {
		t.Errorf("the Dialer's own Header was changed")
	}
}
