package handshake

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// DeflateExtension is the extension token of permessage-deflate (RFC 7692
// §7).
const DeflateExtension = "permessage-deflate"

// AnyWindowBits, as [DeflateParams.ClientMaxWindowBits] of an offer, sends
// client_max_window_bits without a value: the client can limit its window
// and lets the server choose the size (RFC 7692 §7.1.2.2).
const AnyWindowBits = -1

// Window sizes allowed by RFC 7692 §7.1.2, as base-2 logarithms.
const (
	MinWindowBits = 8
	MaxWindowBits = 15
)

// ErrInvalidOffer reports a [DeflateParams] offer that cannot be sent: a
// window size outside [MinWindowBits]-[MaxWindowBits], or [AnyWindowBits]
// for the server's window.
var ErrInvalidOffer = errors.New("handshake: invalid permessage-deflate offer")

// DeflateParams are the parameters of permessage-deflate (RFC 7692 §7.1),
// either as the client offers them or as they were agreed. The zero value
// is the offer with no parameter ("permessage-deflate") and, once agreed,
// context takeover and 15-bit windows in both directions.
type DeflateParams struct {
	// ServerNoContextTakeover is server_no_context_takeover (§7.1.1.1):
	// the server compresses each message with an empty window.
	ServerNoContextTakeover bool

	// ClientNoContextTakeover is client_no_context_takeover (§7.1.1.2):
	// the client compresses each message with an empty window.
	ClientNoContextTakeover bool

	// ServerMaxWindowBits is server_max_window_bits (§7.1.2.1), the
	// base-2 logarithm of the largest window the server compresses with,
	// from 8 to 15. Zero means the parameter is absent: a window of 15
	// bits.
	ServerMaxWindowBits int

	// ClientMaxWindowBits is client_max_window_bits (§7.1.2.2), the
	// base-2 logarithm of the largest window the client compresses with,
	// from 8 to 15. Zero means the parameter is absent: a window of 15
	// bits. In an offer, [AnyWindowBits] sends the parameter without a
	// value; an agreement never holds it.
	ClientMaxWindowBits int
}

// String returns p as one element of a Sec-WebSocket-Extensions value,
// parameters in the order of RFC 7692 §7.1, such as
// "permessage-deflate; server_max_window_bits=10; client_max_window_bits".
// It does not check p; [DeflateOffer] does.
func (p DeflateParams) String() string {
	b := []byte(DeflateExtension)
	if p.ServerNoContextTakeover {
		b = append(b, "; server_no_context_takeover"...)
	}
	if p.ClientNoContextTakeover {
		b = append(b, "; client_no_context_takeover"...)
	}
	if p.ServerMaxWindowBits != 0 {
		b = append(b, "; server_max_window_bits="...)
		b = strconv.AppendInt(b, int64(p.ServerMaxWindowBits), 10)
	}
	switch p.ClientMaxWindowBits {
	case 0:
	case AnyWindowBits:
		b = append(b, "; client_max_window_bits"...)
	default:
		b = append(b, "; client_max_window_bits="...)
		b = strconv.AppendInt(b, int64(p.ClientMaxWindowBits), 10)
	}
	return string(b)
}

// DeflateOffer returns the Sec-WebSocket-Extensions elements that offer
// permessage-deflate with each of offers, most preferred first, for
// [Request.Extensions]. It fails with [ErrInvalidOffer] if a window size
// is neither zero nor from 8 to 15 (or [AnyWindowBits] for the client's).
func DeflateOffer(offers ...DeflateParams) ([]string, error) {
	out := make([]string, 0, len(offers))
	for i, o := range offers {
		if !validBits(o.ServerMaxWindowBits) {
			return nil, fmt.Errorf("%w: offer %d: server_max_window_bits %d", ErrInvalidOffer, i, o.ServerMaxWindowBits)
		}
		if !validBits(o.ClientMaxWindowBits) && o.ClientMaxWindowBits != AnyWindowBits {
			return nil, fmt.Errorf("%w: offer %d: client_max_window_bits %d", ErrInvalidOffer, i, o.ClientMaxWindowBits)
		}
		out = append(out, o.String())
	}
	return out, nil
}

func validBits(n int) bool {
	return n == 0 || (n >= MinWindowBits && n <= MaxWindowBits)
}

// ParseDeflateAnswer finds permessage-deflate in the extensions a server
// accepted ([Response.Extensions]) and checks its parameters against the
// offers the client made, most preferred first (RFC 7692 §5, §7.1). It
// returns the parameters both sides must honour and ok true; if the server
// declined (no permessage-deflate element), it returns ok false and no
// error: the connection is uncompressed. Elements of other extensions are
// ignored.
//
// Parameter names are compared without regard to case; values may be
// tokens or quoted strings. The answer fails with an [*ExtensionError] if
// permessage-deflate is answered twice or was not offered, or if a
// parameter is unknown, repeated, has a value where none is allowed
// (*_no_context_takeover), lacks one where it is required
// (*_max_window_bits), or has a value that is not a number from 8 to 15
// written without leading zeros. It fails too unless it satisfies one of
// the offers, the first such offer being the one accepted:
//
//   - server_no_context_takeover offered must be answered;
//   - server_max_window_bits offered must be answered, with the same or a
//     smaller value; answered without an offer, it is the server's choice;
//   - client_max_window_bits may be answered only if offered, and not
//     larger than the offered value.
//
// The result folds in what the accepted offer promised: an offered
// client_no_context_takeover, or client_max_window_bits with a value, holds
// even if the server does not repeat it (RFC 7692 §7.1.1.2, §7.1.2.2).
func ParseDeflateAnswer(accepted []string, offers []DeflateParams) (agreed DeflateParams, ok bool, err error) {
	var answer string
	for _, e := range accepted {
		if !strings.EqualFold(extensionName(e), DeflateExtension) {
			continue
		}
		if ok {
			return DeflateParams{}, false, &ExtensionError{Extension: DeflateExtension, Reason: "answered twice"}
		}
		answer, ok = e, true
	}
	if !ok {
		return DeflateParams{}, false, nil
	}
	a, err := parseDeflate(answer, false)
	if err != nil {
		return DeflateParams{}, false, err
	}
	if len(offers) == 0 {
		return DeflateParams{}, false, &ExtensionError{Extension: DeflateExtension, Reason: "not offered"}
	}
	var first *ExtensionError
	for _, o := range offers {
		agreed, err := a.settle(o)
		if err == nil {
			return agreed, true, nil
		}
		if first == nil {
			first = err
		}
	}
	if len(offers) > 1 {
		first.Reason += fmt.Sprintf(" (in the first of %d offers, and none matches)", len(offers))
	}
	return DeflateParams{}, false, first
}

// settle checks the answer a against the offer o and returns the agreement.
func (a DeflateParams) settle(o DeflateParams) (DeflateParams, *ExtensionError) {
	bad := func(param string, bits int, reason string) (DeflateParams, *ExtensionError) {
		v := ""
		if bits != 0 {
			v = strconv.Itoa(bits)
		}
		return DeflateParams{}, &ExtensionError{Extension: DeflateExtension, Param: param, Value: v, Reason: reason}
	}
	if o.ServerNoContextTakeover && !a.ServerNoContextTakeover {
		return bad(paramServerNoContext, 0, "offered but not answered")
	}
	if o.ServerMaxWindowBits != 0 {
		if a.ServerMaxWindowBits == 0 {
			return bad(paramServerBits, 0, "offered but not answered")
		}
		if a.ServerMaxWindowBits > o.ServerMaxWindowBits {
			return bad(paramServerBits, a.ServerMaxWindowBits, "larger than offered ("+strconv.Itoa(o.ServerMaxWindowBits)+")")
		}
	}
	switch {
	case a.ClientMaxWindowBits == 0:
		if o.ClientMaxWindowBits > 0 {
			a.ClientMaxWindowBits = o.ClientMaxWindowBits
		}
	case o.ClientMaxWindowBits == 0:
		return bad(paramClientBits, a.ClientMaxWindowBits, "not offered")
	case o.ClientMaxWindowBits > 0 && a.ClientMaxWindowBits > o.ClientMaxWindowBits:
		return bad(paramClientBits, a.ClientMaxWindowBits, "larger than offered ("+strconv.Itoa(o.ClientMaxWindowBits)+")")
	}
	a.ClientNoContextTakeover = a.ClientNoContextTakeover || o.ClientNoContextTakeover
	return a, nil
}

// Parameter names of RFC 7692 §7.1.
const (
	paramServerNoContext = "server_no_context_takeover"
	paramClientNoContext = "client_no_context_takeover"
	paramServerBits      = "server_max_window_bits"
	paramClientBits      = "client_max_window_bits"
)

// parseDeflate parses a permessage-deflate element of an answer, or of an
// offer, on its own: syntax, known parameters, each at most once, with a
// value exactly where one is required. In an offer client_max_window_bits
// may come without a value, which gives [AnyWindowBits].
func parseDeflate(e string, offer bool) (DeflateParams, error) {
	var p DeflateParams
	var seen [4]bool
	_, params, err := splitElement(e)
	if err != nil {
		return DeflateParams{}, err
	}
	for _, kv := range params {
		bad := func(reason string) error {
			return &ExtensionError{Extension: DeflateExtension, Param: kv.name, Value: kv.value, Reason: reason}
		}
		i := -1
		for j, n := range [...]string{paramServerNoContext, paramClientNoContext, paramServerBits, paramClientBits} {
			if strings.EqualFold(kv.name, n) {
				i = j
			}
		}
		switch {
		case i < 0:
			return DeflateParams{}, bad("unknown parameter")
		case seen[i]:
			return DeflateParams{}, bad("repeated")
		case i < 2 && kv.hasValue:
			return DeflateParams{}, bad("takes no value")
		case i == 3 && !kv.hasValue && offer:
			seen[i] = true
			p.ClientMaxWindowBits = AnyWindowBits
			continue
		case i >= 2 && !kv.hasValue && offer:
			return DeflateParams{}, bad("needs a value")
		case i >= 2 && !kv.hasValue:
			return DeflateParams{}, bad("needs a value in an answer")
		}
		seen[i] = true
		switch i {
		case 0:
			p.ServerNoContextTakeover = true
		case 1:
			p.ClientNoContextTakeover = true
		default:
			bits, reason := parseBits(kv.value)
			if reason != "" {
				return DeflateParams{}, bad(reason)
			}
			if i == 2 {
				p.ServerMaxWindowBits = bits
			} else {
				p.ClientMaxWindowBits = bits
			}
		}
	}
	return p, nil
}

// parseBits parses a window size: a decimal number from 8 to 15 without
// leading zeros (RFC 7692 §7.1.2). On failure it returns the reason.
func parseBits(v string) (int, string) {
	if v == "" {
		return 0, "not a number"
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, "not a number"
		}
	}
	if v[0] == '0' && len(v) > 1 {
		return 0, "leading zero"
	}
	n, _ := strconv.Atoi(v) // clamped on overflow
	if n < MinWindowBits || n > MaxWindowBits {
		return 0, "outside 8-15"
	}
	return n, ""
}

// extParam is one extension-param of RFC 6455 §9.1.
type extParam struct {
	name, value string // value unquoted
	hasValue    bool
}

// splitElement parses one element of a Sec-WebSocket-Extensions list
// (RFC 6455 §9.1): a token, then parameters each introduced by ";", each a
// token with an optional "=" and a token or quoted-string value. Spaces and
// tabs may surround the separators.
func splitElement(e string) (string, []extParam, error) {
	s := scanner{s: e}
	s.skipSpace()
	name := s.token()
	if name == "" {
		return "", nil, s.malformed(name)
	}
	var params []extParam
	for {
		s.skipSpace()
		if s.done() {
			return name, params, nil
		}
		if !s.accept(';') {
			return "", nil, s.malformed(name)
		}
		s.skipSpace()
		var p extParam
		if p.name = s.token(); p.name == "" {
			return "", nil, s.malformed(name)
		}
		s.skipSpace()
		if s.accept('=') {
			s.skipSpace()
			p.hasValue = true
			var ok bool
			if p.value, ok = s.value(); !ok {
				return "", nil, s.malformed(name)
			}
		}
		params = append(params, p)
	}
}

// scanner reads the parts of an extension element.
type scanner struct {
	s string
	i int
}

func (s *scanner) done() bool { return s.i >= len(s.s) }

func (s *scanner) accept(c byte) bool {
	if s.i < len(s.s) && s.s[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) skipSpace() {
	for s.i < len(s.s) && (s.s[s.i] == ' ' || s.s[s.i] == '\t') {
		s.i++
	}
}

func (s *scanner) token() string {
	start := s.i
	for s.i < len(s.s) && httpguts.IsTokenRune(rune(s.s[s.i])) {
		s.i++
	}
	return s.s[start:s.i]
}

// value reads a token or a quoted-string, which it unquotes.
func (s *scanner) value() (string, bool) {
	if !s.accept('"') {
		v := s.token()
		return v, v != ""
	}
	var b strings.Builder
	for s.i < len(s.s) {
		c := s.s[s.i]
		s.i++
		switch {
		case c == '"':
			return b.String(), true
		case c == '\\' && s.i < len(s.s):
			b.WriteByte(s.s[s.i])
			s.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

func (s *scanner) malformed(name string) error {
	if name == "" {
		name = s.s
	}
	return &ExtensionError{Extension: name, Reason: "malformed at byte " + strconv.Itoa(s.i)}
}
