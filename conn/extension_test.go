package conn

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// flipDouble is a test extension owning RSV1: each wire byte of a marked
// message decodes to two bytes, the wire byte with its top bit flipped.
// Decoded messages are twice their wire size, and a byte that is not
// UTF-8 on the wire (0xC1) decodes to ASCII ("AA"), and the reverse.
type flipDouble struct{}

func (flipDouble) rsv() frame.Policy               { return frame.Policy{Rsv1: true} }
func (flipDouble) decoder(h frame.Header) decoder  { return &flipDecoder{} }
func (flipDouble) skim(frame.Header, []byte) error { return nil }

type flipDecoder struct {
	src     io.Reader
	pending bool // the second copy of last is owed
	last    byte
}

func (d *flipDecoder) next(src io.Reader, _ int64, _ bool) error { d.src = src; return nil }

func (d *flipDecoder) Read(p []byte) (int, error) {
	n := 0
	if d.pending && len(p) > 0 {
		p[0], d.pending, n = d.last, false, 1
	}
	if n == len(p) {
		return n, nil
	}
	room := len(p) - n
	m, err := d.src.Read(p[n : n+(room+1)/2])
	out := 2 * m
	if out > room {
		d.pending, d.last, out = true, p[n+m-1]^0x80, room
		if err == io.EOF {
			err = nil // the owed byte comes first
		}
	}
	// Expand in place from the end: byte i goes to 2i and 2i+1.
	for i := m - 1; i >= 0; i-- {
		b := p[n+i] ^ 0x80
		if 2*i+1 < room {
			p[n+2*i+1] = b
		}
		p[n+2*i] = b
	}
	return n + out, err
}

// extConn returns a client Conn over an in-memory pipe, with ext as its
// negotiated extension when not nil, and a function that has the peer
// send wire. The peer reads and drops whatever the Conn sends.
func extConn(t *testing.T, cfg *Config, ext extension) (*Conn, func(wire []byte)) {
	t.Helper()
	client, peer := net.Pipe()
	c := New(client, cfg)
	if ext != nil {
		c.useExtension(ext)
	}
	go io.Copy(io.Discard, peer)
	t.Cleanup(func() { c.CloseNow(); peer.Close() })
	return c, func(wire []byte) { go peer.Write(wire) }
}

// wireOf encodes frames as a server sends them.
func wireOf(t *testing.T, frames ...frame.Frame) []byte {
	t.Helper()
	var b []byte
	for _, f := range frames {
		var err error
		if b, err = f.AppendBinary(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func dataFrame(op frame.Opcode, fin, rsv1 bool, p string) frame.Frame {
	return frame.Frame{Header: frame.Header{Fin: fin, Rsv1: rsv1, Opcode: op}, Payload: []byte(p)}
}

// failedWith checks that err failed the connection with code.
func failedWith(t *testing.T, err error, code status.Code) {
	t.Helper()
	var fe *frame.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("error %v, want a failure with %d", err, code)
	}
}

func TestExtensionDecodes(t *testing.T) {
	c, send := extConn(t, nil, flipDouble{})
	send(wireOf(t,
		dataFrame(frame.OpBinary, true, true, "\x01\x02"),
		// A fragmented marked message with a ping between its frames.
		dataFrame(frame.OpText, false, true, "\xc1"),
		frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("p")},
		dataFrame(frame.OpContinuation, true, false, "\xe9"),
		// An unmarked message after them is as it arrived.
		dataFrame(frame.OpText, true, false, "plain"),
	))
	ctx := context.Background()
	for _, want := range []struct {
		op      frame.Opcode
		payload string
	}{
		{frame.OpBinary, "\x81\x81\x82\x82"},
		{frame.OpText, "AAii"},
		{frame.OpText, "plain"},
	} {
		op, p, err := c.ReadMessage(ctx)
		if err != nil || op != want.op || string(p) != want.payload {
			t.Fatalf("ReadMessage = %v, %q, %v; want %v, %q", op, p, err, want.op, want.payload)
		}
	}
}

func TestExtensionRsvOnlyOnFirstFrame(t *testing.T) {
	for _, tt := range []struct {
		name   string
		frames []frame.Frame
	}{
		{"rsv1 on a continuation", []frame.Frame{
			dataFrame(frame.OpBinary, false, true, "a"),
			dataFrame(frame.OpContinuation, true, true, "b"),
		}},
		{"rsv1 on the continuation of a plain message", []frame.Frame{
			dataFrame(frame.OpText, false, false, "a"),
			dataFrame(frame.OpContinuation, true, true, "b"),
		}},
		{"rsv1 on a ping", []frame.Frame{
			{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpPing}},
		}},
		{"rsv1 on a close", []frame.Frame{
			{Header: frame.Header{Fin: true, Rsv1: true, Opcode: frame.OpClose}, Payload: []byte{3, 0xe8}},
		}},
		{"rsv2, not the extension's", []frame.Frame{
			{Header: frame.Header{Fin: true, Rsv2: true, Opcode: frame.OpBinary}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, send := extConn(t, nil, flipDouble{})
			send(wireOf(t, tt.frames...))
			_, _, err := c.ReadMessage(context.Background())
			failedWith(t, err, status.ProtocolError)
		})
	}
}

func TestNoExtensionRefusesRsv1(t *testing.T) {
	c, send := extConn(t, nil, nil)
	send(wireOf(t, dataFrame(frame.OpText, true, true, "a")))
	_, _, err := c.ReadMessage(context.Background())
	failedWith(t, err, status.ProtocolError)
}

// The size limit applies to the decoded message: 60 bytes on the wire
// pass a 100-byte limit as they are, not once decoded to 120.
func TestExtensionLimitOnDecodedBytes(t *testing.T) {
	wire := string(make([]byte, 60))
	for _, fire := range []bool{false, true} {
		cfg := &Config{MaxMessageSize: 100, DeliverFragments: fire}
		c, send := extConn(t, cfg, flipDouble{})
		send(wireOf(t, dataFrame(frame.OpBinary, true, false, wire), dataFrame(frame.OpBinary, true, true, wire)))
		if _, p, err := c.ReadMessage(context.Background()); err != nil || len(p) != 60 {
			t.Fatalf("plain 60 bytes: %d bytes, %v", len(p), err)
		}
		_, _, err := c.ReadMessage(context.Background())
		failedWith(t, err, status.MessageTooBig)

		// Over two frames, each within the limit once decoded.
		c, send = extConn(t, cfg, flipDouble{})
		send(wireOf(t, dataFrame(frame.OpBinary, false, true, wire[:30]), dataFrame(frame.OpContinuation, true, false, wire[:30])))
		for {
			f, err := c.ReadDataFrame(context.Background(), nil)
			if err != nil {
				failedWith(t, err, status.MessageTooBig)
				break
			}
			if f.Fin {
				t.Fatalf("fire %v: got the whole message, want 1009", fire)
			}
		}
	}
}

// UTF-8 is checked on the decoded text: 0xC1 is never UTF-8, but decodes
// to "AA"; "A" is, but decodes to 0xC1 0xC1.
func TestExtensionUTF8OnDecodedText(t *testing.T) {
	c, send := extConn(t, nil, flipDouble{})
	send(wireOf(t, dataFrame(frame.OpText, true, true, "\xc1"), dataFrame(frame.OpText, true, true, "A")))
	if op, p, err := c.ReadMessage(context.Background()); err != nil || op != frame.OpText || string(p) != "AA" {
		t.Fatalf("ReadMessage = %v, %q, %v; want text AA", op, p, err)
	}
	_, _, err := c.ReadMessage(context.Background())
	failedWith(t, err, status.InvalidPayload)
}

// A marked message streamed by a MessageReader is decoded, and its limit
// and UTF-8 check apply to the decoded bytes.
func TestExtensionStreams(t *testing.T) {
	c, send := extConn(t, &Config{MaxMessageSize: 6}, flipDouble{})
	send(wireOf(t,
		dataFrame(frame.OpText, false, true, "\xc1"),
		frame.Frame{Header: frame.Header{Fin: true, Opcode: frame.OpPing}, Payload: []byte("p")},
		dataFrame(frame.OpContinuation, true, false, "\xc2\xe9"),
		dataFrame(frame.OpBinary, false, true, "\x01\x02"),
		dataFrame(frame.OpContinuation, true, false, "\x03\x04"),
	))
	ctx := context.Background()
	op, r, err := c.NextReader(ctx)
	if err != nil || op != frame.OpText {
		t.Fatalf("NextReader = %v, %v", op, err)
	}
	if p, err := io.ReadAll(r); err != nil || string(p) != "AABBii" {
		t.Fatalf("ReadAll = %q, %v; want the decoded AABBii", p, err)
	}
	// 4 wire bytes decode to 8, over the limit of 6.
	if _, r, err = c.NextReader(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	failedWith(t, err, status.MessageTooBig)
}
