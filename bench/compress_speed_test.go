package bench

import (
	"bytes"
	"context"
	"net"
	"testing"

	"github.com/gobwas/ws"
)

// compressSizes are the message sizes of the compression speed cases.
var compressSizes = []int{2 << 10, 64 << 10}

// messageCycle returns distinct consecutive messages of size bytes of c,
// 64 KiB in all at least, more than any sender's window (32 KiB), so
// that a sender with context takeover never finds a whole message again.
func messageCycle(c corpus, size int) [][]byte {
	k := max(4, (64<<10)/size)
	data := c.gen(k * size)
	msgs := make([][]byte, k)
	for i := range msgs {
		msgs[i] = data[i*size : (i+1)*size]
	}
	return msgs
}

// serverStream returns the frames of msgs as a server sends them under a,
// each message one compressed frame (RSV1 set): a stream a client can
// read in a loop, since the first message needs no history.
func serverStream(msgs [][]byte, a agreement) []byte {
	var buf bytes.Buffer
	for _, p := range compressMessages(msgs, a) {
		ws.WriteHeader(&buf, ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpBinary, Length: int64(len(p))})
		buf.Write(p)
	}
	return buf.Bytes()
}

// expected returns the agreement lib should reach.
func (l compressLibrary) expected() agreement {
	return agreement{serverNoTakeover: !l.takeover, clientNoTakeover: !l.takeover, serverBits: l.serverBits, clientBits: 15}
}

// dialCompressMemory dials lib over a memConn that serves stream (nothing
// if empty) and agrees permessage-deflate with negotiateDeflate; it fails
// tb unless the agreement is the one lib's row expects.
func dialCompressMemory(tb testing.TB, lib compressLibrary, stream []byte) (client, *memConn) {
	mc := newMemConn(stream)
	var agreed agreement
	var ok bool
	mc.answer = func(offers []string) string {
		var answer string
		answer, agreed, ok = negotiateDeflate(offers)
		return answer
	}
	nd := func(context.Context, string, string) (net.Conn, error) { return mc, nil }
	c, err := lib.dial(context.Background(), "ws://127.0.0.1:9/", nd)
	if err != nil {
		tb.Fatal(err)
	}
	if !ok || !lib.agrees(agreed) {
		c.close()
		tb.Fatalf("agreed %t: %v", ok, agreed)
	}
	return c, mc
}

// TestCompressRecvMemory checks that every compressing client inflates
// the compressed stream of every corpus exactly, twice round the loop.
func TestCompressRecvMemory(t *testing.T) {
	for _, cp := range corpora {
		msgs := messageCycle(cp, 2<<10)
		for _, lib := range compressLibraries() {
			t.Run(cp.name+"/"+lib.name, func(t *testing.T) {
				c, _ := dialCompressMemory(t, lib, serverStream(msgs, lib.expected()))
				defer c.close()
				for i := range 2 * len(msgs) {
					p, err := c.recv()
					if err != nil || !bytes.Equal(p, msgs[i%len(msgs)]) {
						t.Fatalf("message %d: %d bytes, %v", i, len(p), err)
					}
				}
			})
		}
	}
}

// flateSize returns the mean compressed size of msgs, sent round and
// round by compress/flate at BestSpeed with or without context takeover,
// once the loop has begun again.
func flateSize(msgs [][]byte, takeover bool) float64 {
	out := compressMessages(append(msgs[:len(msgs):len(msgs)], msgs...), agreement{serverNoTakeover: !takeover, serverBits: 15})
	n := 0
	for _, p := range out[len(msgs):] {
		n += len(p)
	}
	return float64(n) / float64(len(msgs))
}

// BenchmarkCompressSend compresses and sends messages of each corpus and
// size over a memConn that discards them; one op is one message of
// distinct content (messageCycle). wire-B/msg is what the client wrote
// per message, frame headers included; size/flate1 divides it by the
// compressed size compress/flate reaches at BestSpeed with the same
// context takeover. A case whose messages leave the client less than 10%
// smaller fails: the client did not compress.
func BenchmarkCompressSend(b *testing.B) {
	for _, cp := range corpora {
		for _, size := range compressSizes {
			msgs := messageCycle(cp, size)
			ref := map[bool]float64{true: flateSize(msgs, true), false: flateSize(msgs, false)}
			for _, lib := range compressLibraries() {
				b.Run(cp.name+"/"+sizeName(size)+"/"+lib.name, func(b *testing.B) {
					c, mc := dialCompressMemory(b, lib, nil)
					defer c.close()
					b.SetBytes(int64(size))
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if err := c.send(msgs[i%len(msgs)]); err != nil {
							b.Fatal(err)
						}
						i++
					}
					mc.mu.Lock()
					wire := float64(mc.sent) / float64(i)
					mc.mu.Unlock()
					if wire > 0.9*float64(size) {
						b.Fatalf("%.0f bytes written per %d-byte message", wire, size)
					}
					b.ReportMetric(wire, "wire-B/msg")
					b.ReportMetric(wire/ref[lib.takeover], "size/flate1")
				})
			}
		}
	}
}

// BenchmarkCompressRecv receives and inflates compressed messages of each
// corpus and size from a memConn (serverStream: compress/flate at
// BestSpeed with the agreed context takeover; framewire-small asks for a
// 1 KiB server window, which framewire's compressor makes); one op is one
// message.
func BenchmarkCompressRecv(b *testing.B) {
	for _, cp := range corpora {
		for _, size := range compressSizes {
			msgs := messageCycle(cp, size)
			for _, lib := range compressLibraries() {
				b.Run(cp.name+"/"+sizeName(size)+"/"+lib.name, func(b *testing.B) {
					c, _ := dialCompressMemory(b, lib, serverStream(msgs, lib.expected()))
					defer c.close()
					recvLoop(b, c, size)
				})
			}
		}
	}
}
