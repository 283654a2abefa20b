package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/framewire/ws/frame"
)

// FuzzParseHeader decodes arbitrary bytes; whatever decodes must re-encode to
// exactly the bytes it was decoded from, and ReadHeader must agree.
func FuzzParseHeader(f *testing.F) {
	for _, v := range wireVectors {
		f.Add(v.bytes(f))
	}
	f.Add([]byte{0x82, 0x7e, 0x00, 0x05})
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := frame.ParseHeader(b)
		h2, err2 := frame.ReadHeader(bytes.NewReader(b))
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				if err2 != io.ErrUnexpectedEOF && err2 != io.EOF {
					t.Fatalf("ParseHeader: short, ReadHeader: %v", err2)
				}
				return
			}
			var fe *frame.Error
			if !errors.As(err, &fe) || !errors.Is(err2, fe) {
				t.Fatalf("ParseHeader: %v, ReadHeader: %v", err, err2)
			}
			return
		}
		if err2 != nil || h2 != h {
			t.Fatalf("ReadHeader = %+v, %v; ParseHeader = %+v", h2, err2, h)
		}
		if n != h.Len() || n > frame.MaxHeaderLen {
			t.Fatalf("consumed %d bytes, Len() = %d", n, h.Len())
		}
		out, err := h.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("re-encoded %x, parsed from %x", out, b[:n])
		}
		_ = h.Validate(frame.Policy{})
	})
}

// FuzzValidate checks that validation never panics, that every error it
// returns carries a close code, and that a Frame's Length changes neither
// its validation nor its encoding.
func FuzzValidate(f *testing.F) {
	f.Add(byte(0x88), []byte{0x03, 0xe8, 'o', 'k'})
	f.Add(byte(0x81), []byte("hello"))
	f.Add(byte(0x09), []byte{})
	f.Fuzz(func(t *testing.T, b0 byte, payload []byte) {
		h, _, err := frame.ParseHeader([]byte{b0, 0})
		if err != nil {
			t.Fatal(err)
		}
		h.Length = int64(len(payload))
		fr := frame.Frame{Header: h, Payload: payload}
		err = fr.Validate(frame.Policy{})
		if err != nil {
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code == 0 {
				t.Fatalf("error without close code: %v", err)
			}
		}
		want, _ := fr.AppendBinary(nil)
		for _, length := range []int64{0, int64(len(payload)) + 126} {
			g := fr
			g.Length = length
			if err2 := g.Validate(frame.Policy{}); fmt.Sprint(err2) != fmt.Sprint(err) {
				t.Fatalf("Length %d: Validate = %v, with the payload's length %v", length, err2, err)
			}
			if got, _ := g.AppendBinary(nil); !bytes.Equal(got, want) {
				t.Fatalf("Length %d: AppendBinary = %x, with the payload's length %x", length, got, want)
			}
		}
	})
}
