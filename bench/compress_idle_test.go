package bench

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// The exchange of the compressed idle case: a JSON-like message of about
// 2 KiB each way; the test adds the last 200 bytes of it, which a sender
// with context takeover finds in its window.
var (
	idleMessage = jsonEvents(2 << 10)
	idleTail    = bytes.Clone(idleMessage[len(idleMessage)-200:])
)

// exchange sends each message of msgs and reads the server's answer,
// which must be the same bytes.
func exchange(c client, msgs ...[]byte) error {
	for i, m := range msgs {
		if err := c.send(m); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		p, err := c.recv()
		if err != nil {
			return fmt.Errorf("recv %d: %w", i, err)
		}
		if !bytes.Equal(p, m) {
			return fmt.Errorf("recv %d: %d bytes, not the %d sent", i, len(p), len(m))
		}
	}
	return nil
}

// TestCompressAgreed checks, for every client of the compression
// benchmarks, that a server compressing with context takeover agreed what
// the client's row says, that the client sent its messages compressed
// (RSV1 on the wire) and used its history where takeover was agreed, and
// that it inflated the server's compressed messages, the second of which
// only inflates with the first as history when the server keeps it.
func TestCompressAgreed(t *testing.T) {
	for _, lib := range compressLibraries() {
		t.Run(lib.name, func(t *testing.T) {
			sess := &deflateSession{client: [][]byte{idleMessage, idleTail}, server: [][]byte{idleMessage, idleTail}, record: true}
			srv := startHoldServer(t, sess)
			defer srv.close()
			c, err := lib.dial(context.Background(), srv.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			if err := exchange(c, idleMessage, idleTail); err != nil {
				t.Fatal(err)
			}
			if fw, ok := c.(*framewireClient); ok {
				p, ok := fw.c.Compression()
				if !ok || p.ServerNoContextTakeover == lib.takeover || p.ClientNoContextTakeover == lib.takeover {
					t.Errorf("Conn.Compression() = %v, %t", p, ok)
				}
			}
			srv.close()
			sess.mu.Lock()
			defer sess.mu.Unlock()
			if len(sess.connections) != 1 {
				t.Fatalf("%d connections compressed, %d declined", len(sess.connections), sess.declined)
			}
			rec := sess.connections[0]
			if !lib.agrees(rec.agreement) {
				t.Errorf("agreed %v", rec.agreement)
			}
			if rec.err != nil {
				t.Error(rec.err)
			}
			if !rec.rsv1[0] {
				t.Fatalf("the %d-byte message was sent uncompressed", len(idleMessage))
			}
			if !bytes.Equal(rec.inflated[0], idleMessage) {
				t.Errorf("message 0 inflates to %d bytes", len(rec.inflated[0]))
			}
			if lib.takeover {
				if !rec.rsv1[1] || !bytes.Equal(rec.inflated[1], idleTail) {
					t.Errorf("message 1: compressed %t, inflates to %q", rec.rsv1[1], rec.inflated[1])
				}
				if bytes.Equal(rec.standalone[1], idleTail) {
					t.Errorf("message 1 (%d bytes on the wire) inflates without history: takeover unused", rec.wire[1])
				}
				// What the client received second is meaningful only if it
				// needed the first as history.
				out := compressMessages(sess.server, rec.agreement)
				if p, err := inflateMessage(out[1], nil, maxMessage); err == nil && bytes.Equal(p, idleTail) {
					t.Errorf("the server's message 1 inflates without history")
				}
			}
			t.Logf("agreed %v; client wire sizes %v", rec.agreement, rec.wire)
		})
	}
}

// BenchmarkCompressIdleConn is BenchmarkIdleConn's idle case for
// connections with permessage-deflate agreed: each of -idle.conns
// connections sends one JSON-like message of 2 KiB compressed and
// receives one compressed, then stays idle. The server agrees context
// takeover both ways unless the client's offer turns it off (the
// -notakeover rows, and gorilla), and fails the case if a client message
// arrives uncompressed. The bench's own receive buffers are dropped after
// the exchange, so heap-B/conn is the library's (and the sockets').
//
// The framewire-uncompressed row is the baseline: framewire's zero Dialer,
// offering no compression, after the same exchange uncompressed.
func BenchmarkCompressIdleConn(b *testing.B) {
	libs := compressLibraries()
	if framewireLibrary != nil {
		libs = append(libs, compressLibrary{library: *framewireLibrary})
		libs[len(libs)-1].name = "framewire-uncompressed"
	}
	for _, lib := range libs {
		var res idleResult
		b.Run(lib.name, func(b *testing.B) {
			if b.N == 1 {
				sess := &deflateSession{client: [][]byte{idleMessage}, server: [][]byte{idleMessage}, plainOK: lib.serverBits == 0}
				res = measureIdle(b, startHoldServer(b, sess), lib.library, *idleConns, noWait, func(c client) error {
					err := exchange(c, idleMessage)
					dropBuffers(c)
					return err
				})
				sess.mu.Lock()
				plain, declined := sess.plain, sess.declined
				sess.mu.Unlock()
				if sess.plainOK {
					plain, declined = *idleConns-plain, *idleConns-declined // all of them
				}
				if plain > 0 || declined > 0 {
					b.Fatalf("%d messages (un)compressed, %d connections (not) compressed, against the row", plain, declined)
				}
			}
			res.report(b)
		})
	}
}
