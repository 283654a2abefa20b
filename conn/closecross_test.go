package conn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/framewire/ws/status"
)

// heldCloseWrite is a transport whose Write of a close frame returns
// only once release is closed, after the bytes went to the peer.
type heldCloseWrite struct {
	net.Conn
	release chan struct{}
}

func (h *heldCloseWrite) Write(p []byte) (int, error) {
	n, err := h.Conn.Write(p)
	if len(p) > 0 && p[0] == 0x88 {
		<-h.release
	}
	return n, err
}

// The peer's answer to Close, read by another goroutine's receiving call
// before Close's write returned, completes the closing handshake: that
// call and later ones report it as the answer to this side's close, not
// as a close the peer began, whichever goroutine gets there first.
func TestCloseAnsweredBeforeWriteReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		tr := &heldCloseWrite{Conn: client, release: make(chan struct{})}
		c := New(tr, nil)
		defer c.CloseNow()
		go func() {
			var b [8]byte // the client's masked close frame with its code
			if _, err := io.ReadFull(peer, b[:]); err != nil {
				return
			}
			peer.Write([]byte{0x88, 0x02, 0x03, 0xe8}) // the answer: 1000
			io.Copy(io.Discard, peer)
			peer.Close()
		}()
		read := make(chan error, 1)
		go func() {
			_, _, err := c.ReadMessage(context.Background())
			read <- err
		}()
		closed := make(chan error, 1)
		go func() { closed <- c.Close(context.Background(), status.NormalClosure, "") }()
		synctest.Wait() // the answer was read while Close's write has not returned
		close(tr.release)
		if err := <-closed; err != nil {
			t.Errorf("Close = %v", err)
		}
		err := <-read
		var a *answered
		if !errors.As(err, &a) || !errors.Is(err, ErrClosed) {
			t.Errorf("the receiving call returned %v (%T), want the peer's answer to our close", err, err)
		}
		if err := c.WriteMessage(context.Background(), 2, []byte("x")); !errors.As(err, &a) {
			t.Errorf("a later send returned %v, want the peer's answer to our close", err)
		}
	})
}

// failedCloseWrite is a transport whose Write of a close frame waits for
// release and then fails with err, having sent nothing.
type failedCloseWrite struct {
	net.Conn
	begun, release chan struct{}
	err            error
}

func (f *failedCloseWrite) Write(p []byte) (int, error) {
	if len(p) > 0 && p[0] == 0x88 {
		close(f.begun)
		<-f.release
		return 0, f.err
	}
	return f.Conn.Write(p)
}

// The peer's close, read while Close's write of ours is under way, is a
// close the peer began when that write then fails: our close never left,
// and no call reports the peer's close as its answer.
func TestPeerCloseWhileCloseWriteFails(t *testing.T) {
	for _, werr := range []error{syscall.EPIPE, errors.New("transport broke"), os.ErrDeadlineExceeded} {
		t.Run(werr.Error(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, peer := net.Pipe()
				defer peer.Close()
				tr := &failedCloseWrite{Conn: client, begun: make(chan struct{}), release: make(chan struct{}), err: werr}
				c := New(tr, nil)
				defer c.CloseNow()
				read := make(chan error, 1)
				go func() {
					_, _, err := c.ReadMessage(context.Background())
					read <- err
				}()
				closed := make(chan error, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					defer cancel()
					closed <- c.Close(ctx, status.NormalClosure, "")
				}()
				<-tr.begun
				go peer.Write([]byte{0x88, 0x02, 0x0f, 0xa1}) // the peer's own close: 4001
				synctest.Wait()
				close(tr.release)
				<-closed
				var a *answered
				var ce *status.CloseError
				if err := <-read; errors.As(err, &a) || !errors.As(err, &ce) || ce.Code != 4001 {
					t.Errorf("the receiving call returned %v, want the close the peer began (4001)", err)
				}
				if err := c.WriteMessage(context.Background(), 2, []byte("x")); errors.As(err, &a) {
					t.Errorf("a later send returned %v, want the close the peer began", err)
				}
			})
		})
	}
}
