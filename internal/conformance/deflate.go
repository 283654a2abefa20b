package conformance

import (
	"bytes"
	"compress/flate"

	"github.com/framewire/ws/handshake"
)

// acceptPolicy is how the server of a case answers the client's
// permessage-deflate offers (Autobahn's server accept functions of cases
// 12 and 13). It returns the index of the offer it accepts and the
// parameters the server asks of the client on top of it; ok false
// declines them all.
type acceptPolicy struct {
	name string // Autobahn's description: "[(True, 9)]" and so on
	pick func(offers []handshake.DeflateParams) (i int, ask handshake.DeflateParams, ok bool)
}

// acceptAs returns the policy that accepts the first offer allowing what it
// asks: client_no_context_takeover (any offer allows it) and, when bits is
// not zero, client_max_window_bits=bits (only an offer that has
// client_max_window_bits allows it).
func acceptAs(noContext bool, bits int) func([]handshake.DeflateParams) (int, handshake.DeflateParams, bool) {
	return func(offers []handshake.DeflateParams) (int, handshake.DeflateParams, bool) {
		for i, o := range offers {
			if bits != 0 && o.ClientMaxWindowBits == 0 {
				continue
			}
			return i, handshake.DeflateParams{ClientNoContextTakeover: noContext, ClientMaxWindowBits: bits}, true
		}
		return 0, handshake.DeflateParams{}, false
	}
}

// firstFit tries the policies in order and takes the first that accepts.
func firstFit(policies ...acceptPolicy) func([]handshake.DeflateParams) (int, handshake.DeflateParams, bool) {
	return func(offers []handshake.DeflateParams) (int, handshake.DeflateParams, bool) {
		for _, p := range policies {
			if i, ask, ok := p.pick(offers); ok {
				return i, ask, true
			}
		}
		return 0, handshake.DeflateParams{}, false
	}
}

// Autobahn's seven server accept policies of section 13, the first of
// which is section 12's.
var (
	acceptFirst      = acceptPolicy{"[(False, 0)]", acceptAs(false, 0)}
	acceptNoContext  = acceptPolicy{"[(True, 0)]", acceptAs(true, 0)}
	acceptBits9      = acceptPolicy{"[(False, 9)]", acceptAs(false, 9)}
	acceptBits15     = acceptPolicy{"[(False, 15)]", acceptAs(false, 15)}
	acceptNoContext9 = acceptPolicy{"[(True, 9)]", acceptAs(true, 9)}
	acceptPolicies   = []acceptPolicy{
		acceptFirst,
		acceptNoContext,
		acceptBits9,
		acceptBits15,
		acceptNoContext9,
		{"[(True, 15)]", acceptAs(true, 15)},
		{"[(True, 9), (True, 0), (False, 0)]", firstFit(acceptNoContext9, acceptNoContext, acceptFirst)},
	}
)

// negotiation is what the server agreed with the client.
type negotiation struct {
	answer handshake.DeflateParams // the Sec-WebSocket-Extensions answer
	// clientBits and clientNoContext bind the client: the window the
	// server's inflater allows and whether each message starts empty.
	clientBits      int
	clientNoContext bool
}

// negotiate applies p to the offers the request headers carry. ok is
// false when the client offered nothing p accepts.
func negotiate(p acceptPolicy, offers []handshake.DeflateParams) (n negotiation, ok bool) {
	i, ask, ok := p.pick(offers)
	if !ok {
		return negotiation{}, false
	}
	o := offers[i]
	// The server answers what the client asked of it (RFC 7692 §7.1.1.1,
	// §7.1.2.1) and what the policy asks of the client; a window the
	// client offered smaller than the policy's is kept.
	a := handshake.DeflateParams{
		ServerNoContextTakeover: o.ServerNoContextTakeover,
		ServerMaxWindowBits:     o.ServerMaxWindowBits,
		ClientNoContextTakeover: ask.ClientNoContextTakeover,
		ClientMaxWindowBits:     ask.ClientMaxWindowBits,
	}
	if o.ClientMaxWindowBits > 0 && a.ClientMaxWindowBits > o.ClientMaxWindowBits {
		a.ClientMaxWindowBits = o.ClientMaxWindowBits
	}
	n = negotiation{answer: a, clientBits: handshake.MaxWindowBits, clientNoContext: a.ClientNoContextTakeover}
	if a.ClientMaxWindowBits != 0 {
		n.clientBits = a.ClientMaxWindowBits
	}
	return n, true
}

// serverDeflater compresses the server's messages as agreed. compress/flate
// always uses a 32 KiB window, so below 15 bits the server sends
// Huffman-only blocks, which refer back to nothing. Otherwise it uses level
// 2, the fastest that refers back into earlier messages (BestSpeed starts
// afresh at each flush), so that context takeover is put to the test.
type serverDeflater struct {
	w        *flate.Writer
	buf      bytes.Buffer
	takeover bool
}

func newServerDeflater(a handshake.DeflateParams) *serverDeflater {
	level := 2
	if a.ServerMaxWindowBits != 0 && a.ServerMaxWindowBits < handshake.MaxWindowBits {
		level = flate.HuffmanOnly
	}
	d := &serverDeflater{takeover: !a.ServerNoContextTakeover}
	d.w, _ = flate.NewWriter(&d.buf, level) // the level is valid
	return d
}

// compress returns p compressed as one message (RFC 7692 §7.2.1), valid
// until the next call.
func (d *serverDeflater) compress(p []byte) []byte {
	d.buf.Reset()
	if !d.takeover {
		d.w.Reset(&d.buf)
	}
	d.w.Write(p) // writes to a bytes.Buffer do not fail
	d.w.Flush()
	return bytes.TrimSuffix(d.buf.Bytes(), deflateTail[:])
}
