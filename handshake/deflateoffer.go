package handshake

import (
	"errors"
	"strings"
)

// ParseDeflateOffers reads the permessage-deflate offers in the
// Sec-WebSocket-Extensions header values of a request, as a server reads
// them (RFC 7692 §5, §7.1), most preferred first. An offer in which
// client_max_window_bits has no value holds [AnyWindowBits] there.
//
// An offer a server must not accept (malformed, with an unknown or
// repeated parameter, a window size that is not a number from 8 to 15, a
// value for a *_no_context_takeover parameter, or server_max_window_bits
// without one) is left out, and err reports it as an [*ExtensionError],
// several joined with [errors.Join]; the valid offers are returned all the
// same, for the server to choose from. Elements of other extensions are
// ignored.
func ParseDeflateOffers(values []string) (offers []DeflateParams, err error) {
	var errs []error
	var elems []string
	for _, v := range values {
		elems = appendList(elems, v)
	}
	for _, e := range elems {
		if !strings.EqualFold(extensionName(e), DeflateExtension) {
			continue
		}
		o, err := parseDeflate(e, true)
		if err != nil {
			if ee, ok := errors.AsType[*ExtensionError](err); ok {
				ee.Offer = true
			}
			errs = append(errs, err)
			continue
		}
		offers = append(offers, o)
	}
	return offers, errors.Join(errs...)
}
