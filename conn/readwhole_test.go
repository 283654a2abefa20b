package conn

import (
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"unsafe"

	"github.com/framewire/ws/frame"
)

// A message of one frame that arrived whole goes from the read buffer
// straight to the caller's buffer: it comes back in dst's array, where the
// assembler's path would trade dst for the buffer it collected the message
// in. Frames that did not arrive whole, fragments and control frames take
// the assembler's path, in between, and come back all the same.
func TestWholeMessageReadIntoDst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, peer := net.Pipe()
		c := New(client, nil)
		go io.Copy(io.Discard, peer)
		t.Cleanup(func() { c.CloseNow(); peer.Close() })
		big := strings.Repeat("z", 1000)
		for _, tt := range []struct {
			name   string
			wire   []frame.Frame
			op     frame.Opcode
			want   string
			inDst  bool // arrives whole, so read straight into dst
			splits int  // bytes written first, in a write of their own
		}{
			{"16 B binary", []frame.Frame{dataFrame(frame.OpBinary, true, false, "0123456789abcdef")}, frame.OpBinary, "0123456789abcdef", true, 0},
			{"text", []frame.Frame{dataFrame(frame.OpText, true, false, "héllo")}, frame.OpText, "héllo", true, 0},
			{"empty", []frame.Frame{dataFrame(frame.OpBinary, true, false, "")}, frame.OpBinary, "", true, 0},
			{"header apart", []frame.Frame{dataFrame(frame.OpBinary, true, false, "split")}, frame.OpBinary, "split", false, 2},
			{"larger than the wait buffer", []frame.Frame{dataFrame(frame.OpBinary, true, false, big)}, frame.OpBinary, big, false, 0},
			{"fragments", []frame.Frame{dataFrame(frame.OpText, false, false, "ab"), dataFrame(frame.OpContinuation, true, false, "cd")}, frame.OpText, "abcd", false, 0},
			{"ping first", []frame.Frame{{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("p")}, dataFrame(frame.OpBinary, true, false, "after")}, frame.OpBinary, "after", false, 0},
		} {
			wire := wireOf(t, tt.wire...)
			go func() {
				if tt.splits > 0 {
					peer.Write(wire[:tt.splits])
					wire = wire[tt.splits:]
				}
				peer.Write(wire)
			}()
			buf := make([]byte, 0, 2048)
			f, err := c.ReadDataFrame(t.Context(), buf)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if f.Opcode != tt.op || !f.Fin || string(f.Payload) != tt.want || f.Length != int64(len(tt.want)) {
				t.Fatalf("%s: got %v fin=%v len=%d %.20q, want %v %.20q", tt.name, f.Opcode, f.Fin, f.Length, f.Payload, tt.op, tt.want)
			}
			if inDst := unsafe.SliceData(f.Payload) == unsafe.SliceData(buf); tt.inDst && !inDst {
				t.Errorf("%s: the payload did not come back in dst's array", tt.name)
			}
		}
	})
}
