package handshake_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/framewire/ws/handshake"
)

type dp = handshake.DeflateParams

func TestDeflateOffer(t *testing.T) {
	tests := []struct {
		name   string
		offers []dp
		want   []string
	}{
		{"no parameter", []dp{{}}, []string{"permessage-deflate"}},
		{"RFC 7692 §5.2 two offers", []dp{{ClientMaxWindowBits: handshake.AnyWindowBits, ServerMaxWindowBits: 10}, {}},
			[]string{"permessage-deflate; server_max_window_bits=10; client_max_window_bits", "permessage-deflate"}},
		{"every parameter", []dp{{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 8, ClientMaxWindowBits: 15}},
			[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=15"}},
		{"none", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handshake.DeflateOffer(tt.offers...)
			if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("DeflateOffer = %q, %v; want %q", got, err, tt.want)
			}
			// The offer goes out through Request.Extensions.
			req := sampleRequest(t)
			req.Extensions = got
			b, err := req.AppendBinary(nil)
			if len(got) > 0 && (err != nil || !strings.Contains(string(b), "\r\nSec-WebSocket-Extensions: "+strings.Join(got, ", ")+"\r\n")) {
				t.Fatalf("request %q, %v", b, err)
			}
		})
	}
}

func TestDeflateOfferInvalid(t *testing.T) {
	for _, o := range []dp{
		{ServerMaxWindowBits: 7}, {ServerMaxWindowBits: 16}, {ServerMaxWindowBits: handshake.AnyWindowBits},
		{ClientMaxWindowBits: 7}, {ClientMaxWindowBits: 16}, {ClientMaxWindowBits: -2},
	} {
		if got, err := handshake.DeflateOffer(dp{}, o); !errors.Is(err, handshake.ErrInvalidOffer) || got != nil {
			t.Errorf("DeflateOffer(%+v) = %q, %v; want ErrInvalidOffer", o, got, err)
		}
	}
}

var (
	offerPlain   = []dp{{}}
	offerAnyBits = []dp{{ClientMaxWindowBits: handshake.AnyWindowBits}}
	offerNoCtx   = []dp{{ServerNoContextTakeover: true, ClientNoContextTakeover: true}}
	offerRFC     = []dp{{ClientMaxWindowBits: handshake.AnyWindowBits, ServerMaxWindowBits: 10}, {ClientMaxWindowBits: handshake.AnyWindowBits}}
	offerClient9 = []dp{{ClientMaxWindowBits: 9}}
)

// TestParseDeflateAnswer has a row for each rule of RFC 7692 §7.1 that an
// answer must follow.
func TestParseDeflateAnswer(t *testing.T) {
	tests := []struct {
		name    string
		offers  []dp
		answer  []string // Response.Extensions
		want    dp
		ok      bool
		param   string // of the *ExtensionError; "-" for none expected
		reason  string // substring of its Reason; "" means success
		wantVal string
	}{
		// Accepted answers.
		{name: "declined: no extension", offers: offerRFC, answer: nil},
		{name: "declined: another extension only", offers: offerPlain, answer: []string{"x-foo; a=1"}},
		{name: "plain", offers: offerPlain, answer: []string{"permessage-deflate"}, ok: true},
		{name: "§5.2 first offer", offers: offerRFC, answer: []string{"permessage-deflate; server_max_window_bits=10"},
			want: dp{ServerMaxWindowBits: 10}, ok: true},
		{name: "§5.2 second offer", offers: offerRFC, answer: []string{"permessage-deflate"}, ok: true},
		{name: "§5.2 second offer with client bits", offers: offerRFC, answer: []string{"permessage-deflate; client_max_window_bits=12"},
			want: dp{ClientMaxWindowBits: 12}, ok: true},
		{name: "§7.1.1.1 server_no_context_takeover unoffered", offers: offerPlain, answer: []string{"permessage-deflate; server_no_context_takeover"},
			want: dp{ServerNoContextTakeover: true}, ok: true},
		{name: "§7.1.1.2 client_no_context_takeover unoffered", offers: offerPlain, answer: []string{"permessage-deflate; client_no_context_takeover"},
			want: dp{ClientNoContextTakeover: true}, ok: true},
		{name: "§7.1.1.2 client_no_context_takeover offered, not echoed", offers: offerNoCtx,
			answer: []string{"permessage-deflate; server_no_context_takeover"},
			want:   dp{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, ok: true},
		{name: "§7.1.2.1 server_max_window_bits unoffered", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=12"},
			want: dp{ServerMaxWindowBits: 12}, ok: true},
		{name: "§7.1.2.1 server_max_window_bits smaller than offered", offers: offerRFC, answer: []string{"permessage-deflate; server_max_window_bits=8"},
			want: dp{ServerMaxWindowBits: 8}, ok: true},
		{name: "§7.1.2.2 client bits offered without value", offers: offerAnyBits, answer: []string{"permessage-deflate; client_max_window_bits=15"},
			want: dp{ClientMaxWindowBits: 15}, ok: true},
		{name: "§7.1.2.2 client bits offered with value, not answered", offers: offerClient9, answer: []string{"permessage-deflate"},
			want: dp{ClientMaxWindowBits: 9}, ok: true},
		{name: "§7.1.2.2 client bits smaller than offered", offers: offerClient9, answer: []string{"permessage-deflate; client_max_window_bits=8"},
			want: dp{ClientMaxWindowBits: 8}, ok: true},
		{name: "§7.1 quoted-string value", offers: offerPlain, answer: []string{`permessage-deflate; server_max_window_bits="10"`},
			want: dp{ServerMaxWindowBits: 10}, ok: true},
		{name: "quoted-pair in value", offers: offerPlain, answer: []string{`permessage-deflate; server_max_window_bits="1\1"`},
			want: dp{ServerMaxWindowBits: 11}, ok: true},
		{name: "spaces, tabs and case", offers: offerAnyBits, answer: []string{"Permessage-Deflate ;\tSERVER_No_Context_Takeover ; client_max_window_bits = 9 "},
			want: dp{ServerNoContextTakeover: true, ClientMaxWindowBits: 9}, ok: true},
		{name: "other extensions ignored", offers: offerPlain, answer: []string{"x-foo", "permessage-deflate", "x-bar"}, ok: true},

		// Answers that fail on their own (§7, §7.1).
		{name: "answered twice", offers: offerRFC, answer: []string{"permessage-deflate", "permessage-deflate; server_max_window_bits=10"},
			param: "-", reason: "answered twice"},
		{name: "not offered", offers: nil, answer: []string{"permessage-deflate"}, param: "-", reason: "not offered"},
		{name: "unknown parameter", offers: offerPlain, answer: []string{"permessage-deflate; x_max_window_bits=10"},
			param: "x_max_window_bits", wantVal: "10", reason: "unknown parameter"},
		{name: "repeated parameter", offers: offerNoCtx, answer: []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"},
			param: "server_no_context_takeover", reason: "repeated"},
		{name: "repeated with other case", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=9; Server_Max_Window_Bits=9"},
			param: "Server_Max_Window_Bits", wantVal: "9", reason: "repeated"},
		{name: "server_no_context_takeover=x", offers: offerPlain, answer: []string{"permessage-deflate; server_no_context_takeover=x"},
			param: "server_no_context_takeover", wantVal: "x", reason: "takes no value"},
		{name: `client_no_context_takeover=""`, offers: offerPlain, answer: []string{`permessage-deflate; client_no_context_takeover=""`},
			param: "client_no_context_takeover", reason: "takes no value"},
		{name: "server_max_window_bits without value", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits"},
			param: "server_max_window_bits", reason: "needs a value"},
		{name: "§7.1.2.2 client_max_window_bits without value in an answer", offers: offerAnyBits, answer: []string{"permessage-deflate; client_max_window_bits"},
			param: "client_max_window_bits", reason: "needs a value"},
		{name: "window 7", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=7"},
			param: "server_max_window_bits", wantVal: "7", reason: "outside 8-15"},
		{name: "window 16", offers: offerAnyBits, answer: []string{"permessage-deflate; client_max_window_bits=16"},
			param: "client_max_window_bits", wantVal: "16", reason: "outside 8-15"},
		{name: "window 0", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=0"},
			param: "server_max_window_bits", wantVal: "0", reason: "outside 8-15"},
		{name: "leading zero", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=010"},
			param: "server_max_window_bits", wantVal: "010", reason: "leading zero"},
		{name: "huge number", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=99999999999999999999999"},
			param: "server_max_window_bits", wantVal: "99999999999999999999999", reason: "outside 8-15"},
		{name: "negative", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=-9"},
			param: "server_max_window_bits", wantVal: "-9", reason: "not a number"},
		{name: "sign", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits=+9"},
			param: "server_max_window_bits", wantVal: "+9", reason: "not a number"},
		{name: "quoted empty", offers: offerPlain, answer: []string{`permessage-deflate; server_max_window_bits=""`},
			param: "server_max_window_bits", reason: "not a number"},
		{name: "quoted with space", offers: offerPlain, answer: []string{`permessage-deflate; server_max_window_bits=" 9"`},
			param: "server_max_window_bits", wantVal: " 9", reason: "not a number"},
		{name: "unterminated quote", offers: offerPlain, answer: []string{`permessage-deflate; server_max_window_bits="9`},
			param: "-", reason: "malformed"},
		{name: "missing parameter name", offers: offerPlain, answer: []string{"permessage-deflate; =9"}, param: "-", reason: "malformed"},
		{name: "empty parameter", offers: offerPlain, answer: []string{"permessage-deflate;"}, param: "-", reason: "malformed"},
		{name: "missing semicolon", offers: offerPlain, answer: []string{"permessage-deflate; server_no_context_takeover client_no_context_takeover"},
			param: "-", reason: "malformed"},
		{name: "missing value", offers: offerPlain, answer: []string{"permessage-deflate; server_max_window_bits="}, param: "-", reason: "malformed"},

		// Answers that no offer allows (§7.1).
		{name: "§7.1.1.1 server_no_context_takeover offered, not answered", offers: offerNoCtx, answer: []string{"permessage-deflate"},
			param: "server_no_context_takeover", reason: "offered but not answered"},
		{name: "§7.1.2.1 server_max_window_bits offered, not answered", offers: []dp{{ServerMaxWindowBits: 10}}, answer: []string{"permessage-deflate"},
			param: "server_max_window_bits", reason: "offered but not answered"},
		{name: "§7.1.2.1 server_max_window_bits larger than offered", offers: []dp{{ServerMaxWindowBits: 10}}, answer: []string{"permessage-deflate; server_max_window_bits=11"},
			param: "server_max_window_bits", wantVal: "11", reason: "larger than offered (10)"},
		{name: "§7.1.2.2 client_max_window_bits not offered", offers: offerPlain, answer: []string{"permessage-deflate; client_max_window_bits=10"},
			param: "client_max_window_bits", wantVal: "10", reason: "not offered"},
		{name: "§7.1.2.2 client_max_window_bits larger than offered", offers: offerClient9, answer: []string{"permessage-deflate; client_max_window_bits=10"},
			param: "client_max_window_bits", wantVal: "10", reason: "larger than offered (9)"},
		{name: "no offer matches", offers: []dp{{ServerMaxWindowBits: 10}, {ServerNoContextTakeover: true}}, answer: []string{"permessage-deflate; server_max_window_bits=12"},
			param: "server_max_window_bits", wantVal: "12", reason: "first of 2 offers, and none matches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := handshake.ParseDeflateAnswer(tt.answer, tt.offers)
			if tt.reason == "" {
				if err != nil || ok != tt.ok || got != tt.want {
					t.Fatalf("ParseDeflateAnswer = %+v, %v, %v; want %+v, %v", got, ok, err, tt.want, tt.ok)
				}
				if ok {
					// The agreement re-encodes as an answer to the same offers.
					again, ok2, err := handshake.ParseDeflateAnswer([]string{got.String()}, tt.offers)
					if err != nil || !ok2 || again != got {
						t.Fatalf("re-parse of %q = %+v, %v, %v", got.String(), again, ok2, err)
					}
				}
				return
			}
			var ee *handshake.ExtensionError
			if !errors.As(err, &ee) || !errors.Is(err, handshake.ErrBadExtension) || !errors.Is(err, handshake.ErrHandshake) {
				t.Fatalf("ParseDeflateAnswer = %+v, %v, %v; want an *ExtensionError", got, ok, err)
			}
			if ok || got != (dp{}) {
				t.Errorf("result %+v, %v alongside the error", got, ok)
			}
			wantParam := tt.param
			if wantParam == "-" {
				wantParam = ""
			}
			if ee.Param != wantParam || ee.Value != tt.wantVal || !strings.Contains(ee.Reason, tt.reason) {
				t.Errorf("error %+v; want Param %q Value %q Reason ~%q", *ee, wantParam, tt.wantVal, tt.reason)
			}
		})
	}
}

func TestExtensionErrorText(t *testing.T) {
	_, _, err := handshake.ParseDeflateAnswer([]string{"permessage-deflate; server_max_window_bits=\"1\r\n6\""}, offerPlain)
	const want = `handshake: invalid upgrade response: extension "permessage-deflate" parameter "server_max_window_bits"="1\r\n6": not a number`
	if err == nil || err.Error() != want {
		t.Errorf("error %q\nwant %q", err, want)
	}
}

// TestReadResponseExtensionError checks that the extension list checks of
// ReadResponse report an *ExtensionError too.
func TestReadResponseExtensionError(t *testing.T) {
	for in, reason := range map[string]string{
		ok101("Sec-WebSocket-Extensions: x-webkit-deflate-frame"):                 "not offered",
		ok101("Sec-WebSocket-Extensions: permessage-deflate, Permessage-Deflate"): "answered twice",
	} {
		_, err := handshake.ReadResponse(bufioString(in), sampleRequest(t))
		var ee *handshake.ExtensionError
		if !errors.As(err, &ee) || ee.Reason != reason || !errors.Is(err, handshake.ErrBadExtension) {
			t.Errorf("ReadResponse = %v; want *ExtensionError %q", err, reason)
		}
	}
}
