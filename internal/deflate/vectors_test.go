package deflate_test

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/framewire/ws/internal/deflate"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// permutation is the 256 byte values in an order with no repeat: stored is
// the cheapest block for them.
func permutation() string {
	var b []byte
	for i := range 256 {
		b = append(b, byte(i*167))
	}
	return string(b)
}

// A JSON message whose cheapest encoding is a dynamic Huffman block.
const (
	dynamicMsg  = `{"id":1,"type":"quote","price":101.25,"tags":["fast","json"]},{"id":2,"type":"trade","price":99.75,"tags":["slow","json"]}`
	dynamicWire = "4c cb 41 0a 80 20 10 05 d0 bb fc f5 10 29 44 e8 55 a2 85 a4 85 11 69 3a 11 11 dd bd 45 50 be fd bb e0 2d b4 20 f0 19 1d 34 b6" +
		"3d b0 03 21 26 3f 38 68 51 8b 4a 36 04 36 53 86 ee 30 9a cc 20 cc 39 ac e8 6f 7a b7 fc 36 27 63 8b ad 54 d5 16 39 2f e1 f8 f3 03"
)

// ourDecode inflates the history's message, stored, then wire with the
// sync flush put back, feeding the Inflater piece bytes at a time and
// taking its output three bytes at a time, and returns what wire decodes
// to.
func ourDecode(history string, wire []byte, piece int) ([]byte, error) {
	f, err := deflate.NewInflater(15)
	if err != nil {
		return nil, err
	}
	if history != "" {
		var c deflate.Compressor
		if _, err := inflateAll(f, c.Flush(c.Compress(nil, []byte(history))), 64, 64, 1<<20); err != nil {
			return nil, err
		}
	}
	got, err := inflateAll(f, append(wire[:len(wire):len(wire)], 0, 0, 0xff, 0xff), piece, 3, 1<<20)
	if err == io.EOF { // a final block
		err = nil
	}
	return got, err
}

// TestWireVectors: one table drives both directions. Every row's wire
// bytes (a message's output with the trailing 00 00 ff ff stripped, RFC
// 7692 §7.2.1) decode with compress/flate and with the Inflater, fed in
// pieces of every size, to the message, after the history of an earlier
// message; rows marked encode are also exactly what
// the Compressor writes for the message. The RFC 7692 §7.2.3 examples are
// rows; where zlib's bytes differ from ours, both are rows.
func TestWireVectors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history string // an earlier message of the same stream (context takeover)
		msg     string
		wire    string
		encode  bool
	}{
		{"RFC 7692 7.2.3.1 Hello (fixed Huffman)", "", "Hello", "f2 48 cd c9 c9 07 00", true},
		{"RFC 7692 7.2.3.2 Hello after Hello (zlib)", "Hello", "Hello", "f2 00 11 00 00", false},
		{"Hello after Hello, one match", "Hello", "Hello", "02 13 00 00", true},
		{"RFC 7692 7.2.3.3 stored Hello", "", "Hello", "00 05 00 fa ff 48 65 6c 6c 6f 00", false},
		{"RFC 7692 7.2.3.4 BFINAL set", "", "Hello", "f3 48 cd c9 c9 07 00 00", false},
		{"RFC 7692 7.2.3.5 two blocks", "", "Hello", "f2 48 05 00 00 00 ff ff ca c9 c9 07 00", false},
		{"dynamic block", "", dynamicMsg, dynamicWire, true},
		{"empty message", "", "", "00", true},
		{"empty message after Hello", "Hello", "", "00", true},
		{"stored: the 256 byte values", "", permutation(),
			"00 00 01 ff fe" + hex.EncodeToString([]byte(permutation())) + "00", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := unhex(tc.wire)
			zr := flate.NewReaderDict(bytes.NewReader(append(wire, 0, 0, 0xff, 0xff)), []byte(tc.history))
			got := make([]byte, len(tc.msg))
			if _, err := io.ReadFull(zr, got); err != nil || string(got) != tc.msg {
				t.Fatalf("compress/flate decodes %q, %v; want %q", got, err, tc.msg)
			}
			for piece := 1; piece <= len(wire)+4; piece++ {
				if got, err := ourDecode(tc.history, wire, piece); err != nil || string(got) != tc.msg {
					t.Fatalf("Inflater, input in pieces of %d: %q, %v; want %q", piece, got, err, tc.msg)
				}
			}
			if !tc.encode {
				return
			}
			var c deflate.Compressor
			if tc.history != "" {
				c.Flush(c.Compress(nil, []byte(tc.history)))
			}
			out := c.Flush(c.Compress(nil, []byte(tc.msg)))
			want := append(wire, 0, 0, 0xff, 0xff)
			if !bytes.Equal(out, want) {
				t.Fatalf("Compressor writes\n% x\nwant\n% x", out, want)
			}
		})
	}
}
