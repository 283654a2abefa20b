package frame_test

import (
	"bytes"
	"errors"
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

// FuzzValidate checks that validation never panics and that every error it
// returns carries a close code.
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
		if err := fr.Validate(frame.Policy{}); err != nil {
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code == 0 {
				t.Fatalf("error without close code: %v", err)
			}
		}
	})
}
