package handshake

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseDeflateOffers(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []DeflateParams
		bad    int // offers left out
	}{
		{"none", nil, nil, 0},
		{"other extension", []string{"x-webkit-deflate-frame"}, nil, 0},
		{"plain", []string{"permessage-deflate"}, []DeflateParams{{}}, 0},
		{"client bits without value", []string{"permessage-deflate; client_max_window_bits"},
			[]DeflateParams{{ClientMaxWindowBits: AnyWindowBits}}, 0},
		{"all parameters", []string{`permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits="9"`},
			[]DeflateParams{{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: 9}}, 0},
		{"several, in order, over two headers",
			[]string{"permessage-deflate; client_no_context_takeover; client_max_window_bits=9, permessage-deflate; client_no_context_takeover", "PERMESSAGE-DEFLATE"},
			[]DeflateParams{{ClientNoContextTakeover: true, ClientMaxWindowBits: 9}, {ClientNoContextTakeover: true}, {}}, 0},
		{"server bits without value", []string{"permessage-deflate; server_max_window_bits, permessage-deflate"}, []DeflateParams{{}}, 1},
		{"unknown parameter", []string{"permessage-deflate; x=1"}, nil, 1},
		{"repeated", []string{"permessage-deflate; client_max_window_bits; client_max_window_bits=9"}, nil, 1},
		{"out of range", []string{"permessage-deflate; client_max_window_bits=16, permessage-deflate; server_max_window_bits=7"}, nil, 2},
		{"value on a flag", []string{"permessage-deflate; server_no_context_takeover=1"}, nil, 1},
		{"malformed", []string{"permessage-deflate; ;"}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDeflateOffers(tt.values)
			if !slices.Equal(got, tt.want) {
				t.Errorf("offers = %+v, want %+v", got, tt.want)
			}
			var n int
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				n = len(j.Unwrap())
				for _, e := range j.Unwrap() {
					// An offer is no answer: the error says so.
					ee, ok := errors.AsType[*ExtensionError](e)
					if !ok || !ee.Offer || strings.Contains(e.Error(), "response") {
						t.Errorf("offer left out with %v (%T), want an *ExtensionError of an offer", e, e)
					}
				}
			}
			if n != tt.bad || (n > 0 && !errors.Is(err, ErrBadExtension)) {
				t.Errorf("err = %v, want %d offers left out with ErrBadExtension", err, tt.bad)
			}
		})
	}
}

// FuzzDeflateOffers parses arbitrary header values as offers: never a
// panic, and every offer it returns writes out and parses back the same.
func FuzzDeflateOffers(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits, permessage-deflate; server_no_context_takeover; server_max_window_bits=9")
	f.Add(`permessage-deflate; client_max_window_bits="10"; client_no_context_takeover, x-other; a=b`)
	f.Add("permessage-deflate; server_max_window_bits")
	f.Fuzz(func(t *testing.T, v string) {
		offers, _ := ParseDeflateOffers([]string{v})
		for _, o := range offers {
			again, err := ParseDeflateOffers([]string{o.String()})
			if err != nil || len(again) != 1 || again[0] != o {
				t.Fatalf("%q: offer %+v writes as %q, which parses as %+v, %v", v, o, o.String(), again, err)
			}
		}
	})
}
