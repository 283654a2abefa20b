package conformance

import (
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/mask"
)

// deflateClient is a raw echo client that speaks permessage-deflate with
// compress/flate: as agreed, or with one of the bugs the suite must catch.
type deflateClient struct {
	offers []handshake.DeflateParams

	ignoreWindow     bool // compress with flate's 32 KiB window whatever was agreed
	keepHistory      bool // keep the context despite client_no_context_takeover
	rsv1Continuation bool // send echoes in two frames, both with RSV1
	rsv1Ping         bool // send a ping with RSV1 before each echo
	plain            bool // echo uncompressed (allowed: RFC 7692 §6)
	corrupt          bool // make the echo's first block of reserved type 3
	garble           bool // flip a bit in the middle of the compressed echo
}

// play runs one case.
func (d deflateClient) play(t *testing.T, base, path string) {
	exts, err := handshake.DeflateOffer(d.offers...)
	if err != nil {
		t.Fatal(err)
	}
	c, accepted := dialRawExt(t, base, path, exts)
	defer c.nc.Close()
	agreed, ok, err := handshake.ParseDeflateAnswer(accepted, d.offers)
	if err != nil {
		t.Errorf("answer %q: %v", accepted, err)
		return
	}
	// check holds the server to the window and context it agreed to.
	bits := cmp.Or(agreed.ServerMaxWindowBits, 15)
	check := mustInflater(t, bits, !agreed.ServerNoContextTakeover)
	var (
		out     bytes.Buffer
		w       *flate.Writer
		hist    []byte // the server's earlier messages, for context takeover
		msg     []byte
		msgOp   frame.Opcode
		deflate bool
	)
	if ok {
		level := flate.DefaultCompression
		if agreed.ClientMaxWindowBits != 0 && agreed.ClientMaxWindowBits < 15 && !d.ignoreWindow {
			level = flate.HuffmanOnly // no back-reference: within any window
		}
		w, _ = flate.NewWriter(&out, level)
	}
	for {
		h, p, err := c.read()
		if err != nil {
			return
		}
		switch h.Opcode {
		case frame.OpPing:
			c.write(frame.OpPong, true, p)
			continue
		case frame.OpClose:
			c.write(frame.OpClose, true, p)
			continue
		case frame.OpText, frame.OpBinary:
			msgOp, msg, deflate = h.Opcode, nil, h.Rsv1
		}
		msg = append(msg, p...)
		if !h.Fin {
			continue
		}
		if deflate {
			r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(msg), bytes.NewReader(deflateTail[:])), hist)
			plain, err := io.ReadAll(r)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("inflating the server's message: %v", err)
				return
			}
			if !agreed.ServerNoContextTakeover {
				hist = append(hist, plain...)
				hist = hist[max(0, len(hist)-32768):]
			}
			if _, err := check.inflate(nil, msg, 1<<30); err != nil {
				t.Errorf("the server's message breaks its own agreement: %v", err)
			}
			msg = plain
		}
		if d.rsv1Ping {
			c.writeFrame(frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpPing}, []byte("compressed?"))
		}
		if !ok || d.plain {
			c.write(msgOp, true, msg)
			continue
		}
		out.Reset()
		if agreed.ClientNoContextTakeover && !d.keepHistory {
			w.Reset(&out)
		}
		w.Write(msg)
		w.Flush()
		z := bytes.TrimSuffix(out.Bytes(), deflateTail[:])
		if d.corrupt {
			z[0] |= 0x06
		}
		if d.garble {
			z[len(z)/2] ^= 0x10
		}
		if !d.rsv1Continuation {
			c.writeFrame(frame.Header{Fin: true, Rsv1: true, Opcode: msgOp}, z)
			continue
		}
		c.writeFrame(frame.Header{Rsv1: true, Opcode: msgOp}, z[:len(z)/2])
		c.writeFrame(frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpContinuation}, z[len(z)/2:])
	}
}

// writeFrame sends a masked frame with h's bits.
func (c *rawConn) writeFrame(h frame.Header, p []byte) {
	h.Masked, h.Key = true, mask.Key{1, 2, 3, 4}
	b, _ := frame.Frame{Header: h, Payload: p}.AppendBinary(nil)
	c.nc.Write(b)
}

func runDeflate(t *testing.T, cases string, messages int, d deflateClient) []Result {
	t.Helper()
	return runPlayer(t, Options{Cases: cases, Scale: 0.1, Messages: messages}, func(base, path string) {
		d.play(t, base, path)
	})
}

// anyBits is the offer that lets the server choose the client's window.
var anyBits = []handshake.DeflateParams{{ClientMaxWindowBits: handshake.AnyWindowBits}}

// TestCompressionHonestClient: a client that honours every policy passes
// every case of sections 12 and 13 (a few sizes each, 3 messages per case).
func TestCompressionHonestClient(t *testing.T) {
	rs := runDeflate(t, "12.*.1,12.*.9,12.*.12,12.*.18,13.*.4,13.*.14,13.*.17", 3, deflateClient{offers: anyBits})
	if len(rs) != 5*4+7*3 {
		t.Fatalf("%d results", len(rs))
	}
	// The server honours the window and context takeover it is asked for.
	serverBits := []handshake.DeflateParams{{ServerMaxWindowBits: 9, ClientMaxWindowBits: handshake.AnyWindowBits}}
	rs = append(rs, runDeflate(t, "12.1.9,12.3.10,13.6.9", 3, deflateClient{offers: serverBits})...)
	noContext := []handshake.DeflateParams{{ServerNoContextTakeover: true}}
	rs = append(rs, runDeflate(t, "12.1.9,13.2.9", 3, deflateClient{offers: noContext})...)
	for _, r := range rs {
		if r.Verdict != OK || !strings.Contains(r.Result, "The client compressed 3 of them") {
			t.Errorf("%s: %s\n%s", r.Case, r.Verdict, Detail(r))
		}
	}
}

// TestCompressionAgreements: what the server answers each policy, and
// what binds the client.
func TestCompressionAgreements(t *testing.T) {
	tests := []struct {
		id     string
		offers []handshake.DeflateParams
		want   string // the Result's "Agreed: ..." part, or the UNIMPLEMENTED note
	}{
		{"13.1.1", anyBits, "Agreed: permessage-deflate."},
		{"13.2.1", nil, "offered no permessage-deflate"},
		{"13.2.1", []handshake.DeflateParams{{}}, "Agreed: permessage-deflate; client_no_context_takeover."},
		{"13.3.1", []handshake.DeflateParams{{}}, "none of the client's 1 permessage-deflate offers allows this case's accept policy [(False, 9)]"},
		{"13.3.1", anyBits, "Agreed: permessage-deflate; client_max_window_bits=9."},
		{"13.4.1", []handshake.DeflateParams{{ClientMaxWindowBits: 12}}, "Agreed: permessage-deflate; client_max_window_bits=12."},
		{"13.5.1", []handshake.DeflateParams{{ServerNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: handshake.AnyWindowBits}},
			"Agreed: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9."},
		{"13.6.1", anyBits, "Agreed: permessage-deflate; client_no_context_takeover; client_max_window_bits=15."},
		{"13.7.1", []handshake.DeflateParams{{ServerMaxWindowBits: 9}, {ClientMaxWindowBits: handshake.AnyWindowBits}},
			"Agreed: permessage-deflate; client_no_context_takeover; client_max_window_bits=9."},
		{"13.7.1", []handshake.DeflateParams{{ServerMaxWindowBits: 9}, {}},
			"Agreed: permessage-deflate; client_no_context_takeover; server_max_window_bits=9."},
	}
	for _, tt := range tests {
		r := runDeflate(t, tt.id, 2, deflateClient{offers: tt.offers})[0]
		if !strings.Contains(r.Result, tt.want) {
			t.Errorf("%s offering %v: %s, want %q", tt.id, tt.offers, r.Result, tt.want)
		}
	}
}

// TestCompressionBuggyClients: each bug a client can have with
// permessage-deflate fails the case, and the report says which.
func TestCompressionBuggyClients(t *testing.T) {
	tests := []struct {
		name string
		id   string
		d    deflateClient
		want string
	}{
		{"window beyond the agreed 9 bits", "13.3.5", deflateClient{offers: anyBits, ignoreWindow: true}, "farther than the agreed window"},
		{"window beyond 9 bits, no context", "13.5.5", deflateClient{offers: anyBits, ignoreWindow: true}, "farther than the agreed window"},
		{"history kept under client_no_context_takeover", "13.2.4", deflateClient{offers: anyBits, keepHistory: true}, "with no context takeover agreed"},
		{"history kept, first-fit policy", "13.7.4", deflateClient{offers: []handshake.DeflateParams{{}}, keepHistory: true}, "with no context takeover agreed"},
		{"RSV1 on a continuation", "12.1.4", deflateClient{offers: anyBits, rsv1Continuation: true}, "RSV1 on a continuation frame"},
		{"RSV1 on a ping", "13.1.2", deflateClient{offers: anyBits, rsv1Ping: true}, "RSV1 on a ping frame"},
		{"invalid DEFLATE data", "12.2.6", deflateClient{offers: anyBits, corrupt: true}, "compressed message 1: invalid DEFLATE data"},
		{"wrong payload", "12.4.6", deflateClient{offers: anyBits, garble: true}, "Echo'ed message 1 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runDeflate(t, tt.id, 4, tt.d)[0]
			if r.Verdict != Failed || !strings.Contains(r.Observation.Violation+r.Result, tt.want) {
				t.Errorf("%s: %s, violation %q, want FAILED with %q\n%s", tt.id, r.Verdict, r.Observation.Violation, tt.want, Detail(r))
			}
		})
	}
	// Echoing uncompressed is allowed; the report says so.
	r := runDeflate(t, "12.3.3", 2, deflateClient{offers: anyBits, plain: true})[0]
	if r.Verdict != OK || !strings.Contains(r.Result, "The client compressed 0 of them") {
		t.Errorf("uncompressed echo: %s\n%s", r.Verdict, Detail(r))
	}
}
