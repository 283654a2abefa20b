package frame_test

import (
	"errors"
	"testing"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// TestPolicyReservedBits decodes wire headers and validates them: the zero
// Policy is strict RFC 6455, and an extension's bit is allowed only where
// RFC 7692 allows RSV1, on the first frame of a data message.
func TestPolicyReservedBits(t *testing.T) {
	strict := frame.Policy{}
	rsv1 := frame.Policy{Rsv1: true}
	for _, tt := range []struct {
		name   string
		wire   string
		policy frame.Policy
		want   error
	}{
		{"plain text, strict", "81 00", strict, nil},
		{"rsv1 text, strict", "c1 00", strict, frame.ErrReservedBits},
		{"rsv1 binary, strict", "c2 00", strict, frame.ErrReservedBits},
		{"rsv2 text, strict", "a1 00", strict, frame.ErrReservedBits},
		{"rsv3 text, strict", "91 00", strict, frame.ErrReservedBits},
		{"rsv1 text, rsv1 owned", "c1 00", rsv1, nil},
		{"rsv1 binary first fragment, rsv1 owned", "42 00", rsv1, nil},
		{"rsv1 continuation, rsv1 owned", "c0 00", rsv1, frame.ErrReservedBits},
		{"rsv1 non-final continuation, rsv1 owned", "40 00", rsv1, frame.ErrReservedBits},
		{"rsv1 ping, rsv1 owned", "c9 00", rsv1, frame.ErrReservedBits},
		{"rsv1 pong, rsv1 owned", "ca 00", rsv1, frame.ErrReservedBits},
		{"rsv1 close, rsv1 owned", "c8 00", rsv1, frame.ErrReservedBits},
		{"rsv2 text, rsv1 owned", "a1 00", rsv1, frame.ErrReservedBits},
		{"rsv1+rsv2 text, rsv1 owned", "e1 00", rsv1, frame.ErrReservedBits},
		{"rsv2 text, rsv2 owned", "a1 00", frame.Policy{Rsv2: true}, nil},
		{"rsv3 continuation, rsv3 owned", "90 00", frame.Policy{Rsv3: true}, frame.ErrReservedBits},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _, err := frame.ParseHeader(unhex(t, tt.wire))
			if err != nil {
				t.Fatal(err)
			}
			err = h.Validate(tt.policy)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var fe *frame.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &fe) || fe.Code != status.ProtocolError {
				t.Fatalf("Validate: %v, want %v (1002)", err, tt.want)
			}
		})
	}
}

// TestParseClose checks that one call validates a close payload and
// returns its code and reason.
func TestParseClose(t *testing.T) {
	skip := frame.Policy{SkipUTF8Validation: true}
	for _, tt := range []struct {
		name       string
		payload    string
		policy     frame.Policy
		wantCode   status.Code
		wantReason string
		want       error
		wantClose  status.Code
	}{
		{"empty", "", frame.Policy{}, status.NoStatusReceived, "", nil, 0},
		{"code only", "03e8", frame.Policy{}, status.NormalClosure, "", nil, 0},
		{"code and reason", "03e9 6279 65", frame.Policy{}, status.GoingAway, "bye", nil, 0},
		{"one byte", "03", frame.Policy{}, 0, "", frame.ErrClosePayloadLength, status.ProtocolError},
		{"reserved code", "03ed", frame.Policy{}, 0, "", frame.ErrInvalidCloseCode, status.ProtocolError},
		{"reason not UTF-8", "03e8 ff", frame.Policy{}, 0, "", frame.ErrInvalidCloseReason, status.InvalidPayload},
		{"reason not UTF-8, unchecked", "03e8 ff", skip, status.NormalClosure, "\xff", nil, 0},
		{"bad code, UTF-8 unchecked", "03ed ff", skip, 0, "", frame.ErrInvalidCloseCode, status.ProtocolError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, err := frame.ParseClose(unhex(t, tt.payload), tt.policy)
			if tt.want != nil {
				var fe *frame.Error
				if !errors.Is(err, tt.want) || !errors.As(err, &fe) || fe.Code != tt.wantClose {
					t.Fatalf("ParseClose: %v, want %v (%d)", err, tt.want, tt.wantClose)
				}
				return
			}
			if err != nil || code != tt.wantCode || reason != tt.wantReason {
				t.Fatalf("ParseClose = %v, %q, %v; want %v, %q", code, reason, err, tt.wantCode, tt.wantReason)
			}
		})
	}
	long := make([]byte, frame.MaxControlPayload+1)
	long[0], long[1] = 0x03, 0xe8
	if _, _, err := frame.ParseClose(long, frame.Policy{}); !errors.Is(err, frame.ErrControlTooLong) {
		t.Fatalf("126-byte payload: %v, want ErrControlTooLong", err)
	}
}
