package status_test

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/framewire/ws/status"
)

func TestIsValid(t *testing.T) {
	// websocket-client's acceptance set, probed at each boundary.
	valid := map[status.Code]bool{}
	for c := 1000; c <= 1003; c++ {
		valid[status.Code(c)] = true
	}
	for c := 1007; c <= 1014; c++ {
		valid[status.Code(c)] = true
	}
	for c := 3000; c <= 4999; c++ {
		valid[status.Code(c)] = true
	}
	for c := 0; c <= 0xFFFF; c++ {
		if got := status.Code(c).IsValid(); got != valid[status.Code(c)] {
			t.Fatalf("Code(%d).IsValid() = %v", c, got)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		c    status.Code
		want string
	}{
		{status.NormalClosure, "normal closure (1000)"},
		{status.ProtocolError, "protocol error (1002)"},
		{status.NoStatusReceived, "no status received (1005)"},
		{status.TLSHandshake, "TLS handshake failure (1015)"},
		{4001, "close code 4001"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%d.String() = %q, want %q", uint16(tt.c), got, tt.want)
		}
	}
}

// closeVectors drive both AppendClose and ParseClose.
var closeVectors = []struct {
	name   string
	code   status.Code
	reason string
	wire   []byte
}{
	{"no body", status.NoStatusReceived, "", nil},
	{"normal", status.NormalClosure, "", []byte{0x03, 0xe8}},
	{"going away with reason", status.GoingAway, "Custom shutdown", append([]byte{0x03, 0xe9}, "Custom shutdown"...)},
	{"application code", 4001, "bye!", append([]byte{0x0f, 0xa1}, "bye!"...)},
	{"utf-8 reason", status.NormalClosure, "héllo", append([]byte{0x03, 0xe8}, "héllo"...)},
	{"123-byte reason", status.NormalClosure, strings.Repeat("r", 123), append([]byte{0x03, 0xe8}, strings.Repeat("r", 123)...)},
}

func TestCloseVectors(t *testing.T) {
	for _, v := range closeVectors {
		t.Run(v.name, func(t *testing.T) {
			got, err := status.AppendClose(nil, v.code, v.reason)
			if err != nil || !bytes.Equal(got, v.wire) {
				t.Fatalf("AppendClose = %x, %v; want %x", got, err, v.wire)
			}
			code, reason, err := status.ParseClose(v.wire)
			if err != nil || code != v.code || reason != v.reason {
				t.Fatalf("ParseClose = %d %q %v; want %d %q", code, reason, err, v.code, v.reason)
			}
		})
	}
}

func TestAppendCloseRejects(t *testing.T) {
	tests := []struct {
		name   string
		code   status.Code
		reason string
		want   error
	}{
		{"1004", 1004, "", status.ErrInvalidCode},
		{"1006", status.AbnormalClosure, "", status.ErrInvalidCode},
		{"1015", status.TLSHandshake, "", status.ErrInvalidCode},
		{"999", 999, "", status.ErrInvalidCode},
		{"5000", 5000, "", status.ErrInvalidCode},
		{"reason without code", status.NoStatusReceived, "x", status.ErrInvalidCode},
		{"124-byte reason", status.NormalClosure, strings.Repeat("r", 124), status.ErrReasonTooLong},
		{"reason not utf-8", status.NormalClosure, "\xff", status.ErrInvalidUTF8},
	}
	for _, tt := range tests {
		b, err := status.AppendClose([]byte("keep"), tt.code, tt.reason)
		if !errors.Is(err, tt.want) || string(b) != "keep" {
			t.Errorf("%s: AppendClose = %q, %v; want %v and b untouched", tt.name, b, err, tt.want)
		}
	}
}

func TestParseCloseRejects(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		want error
	}{
		{"1 byte", []byte{0x03}, status.ErrPayloadLength},
		{"code 999", []byte{0x03, 0xe7}, status.ErrInvalidCode},
		{"code 1005 on the wire", []byte{0x03, 0xed}, status.ErrInvalidCode},
		{"code 2999", []byte{0x0b, 0xb7}, status.ErrInvalidCode},
		{"reason not utf-8", []byte{0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd}, status.ErrInvalidUTF8},
		{"surrogate in reason", []byte{0x03, 0xe8, 0xed, 0xa0, 0x80}, status.ErrInvalidUTF8},
	}
	for _, tt := range tests {
		if _, _, err := status.ParseClose(tt.wire); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseClose: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestCloseError(t *testing.T) {
	var err error = &status.CloseError{Code: 4001, Reason: "bye!"}
	if !errors.Is(err, net.ErrClosed) {
		t.Error("CloseError does not match net.ErrClosed")
	}
	if got, want := err.Error(), `status: connection closed by peer: close code 4001: "bye!"`; got != want {
		t.Errorf("Error() = %s, want %s", got, want)
	}
}

func FuzzParseClose(f *testing.F) {
	for _, v := range closeVectors {
		f.Add(v.wire)
	}
	f.Add([]byte{0x03})
	f.Add([]byte{0x03, 0xe8, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := status.ParseClose(p)
		if err != nil {
			return
		}
		if len(p) > 125 {
			// Longer payloads are a frame-level error; ParseClose still decodes.
			return
		}
		out, err := status.AppendClose(nil, code, reason)
		if err != nil {
			t.Fatalf("AppendClose of parsed %d %q: %v", code, reason, err)
		}
		if !bytes.Equal(out, p) {
			t.Fatalf("round trip %x -> %x", p, out)
		}
	})
}
