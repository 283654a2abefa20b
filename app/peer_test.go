package app_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/status"
)

// peer is a minimal server end of a connection over net.Pipe, for tests
// inside a synctest bubble, where everything net.Pipe does is durably
// blocking. Unlike a wstest.Peer, it queues its writes to a goroutine of
// its own, so it never blocks on a client that is busy writing.
type peer struct {
	br  *bufio.Reader
	out chan []byte
}

// pipeDialer returns a Dialer whose every connection is served by h.
func pipeDialer(h func(p *peer)) *conn.Dialer {
	return &conn.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		client, server := net.Pipe()
		go serve(server, h)
		return client, nil
	}}
}

func serve(nc net.Conn, h func(p *peer)) {
	p := &peer{br: bufio.NewReader(nc), out: make(chan []byte, 64)}
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for b := range p.out {
			if _, err := nc.Write(b); err != nil {
				for range p.out {
				}
				return
			}
		}
	}()
	defer func() {
		close(p.out)
		<-flushed
		nc.Close()
	}()
	req, err := http.ReadRequest(p.br)
	if err != nil {
		return
	}
	p.out <- []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
	h(p)
}

// write sends a final, unmasked frame.
func (p *peer) write(op frame.Opcode, payload []byte) {
	b, _ := frame.Frame{Header: frame.Header{Fin: true, Opcode: op}, Payload: payload}.AppendBinary(nil)
	p.out <- b
}

func (p *peer) writeRaw(b []byte) { p.out <- b }

func (p *peer) writeClose(code status.Code, reason string) {
	payload, _ := status.AppendClose(nil, code, reason)
	p.write(frame.OpClose, payload)
}

// read returns the next client frame, unmasked.
func (p *peer) read() (frame.Frame, error) {
	h, err := frame.ReadHeader(p.br)
	if err != nil {
		return frame.Frame{}, err
	}
	payload := make([]byte, min(h.Length, 1<<20))
	if _, err := io.ReadFull(p.br, payload); err != nil {
		return frame.Frame{}, err
	}
	mask.Apply(payload, h.Key, 0)
	return frame.Frame{Header: h, Payload: payload}, nil
}

// serveFrames reads client frames up to a close, which it echoes. It
// echoes data frames when echo is set and answers pings when pong is set.
func (p *peer) serveFrames(echo, pong bool) (status.Code, string) {
	for {
		f, err := p.read()
		if err != nil {
			return status.AbnormalClosure, ""
		}
		switch {
		case f.Opcode == frame.OpClose:
			p.write(frame.OpClose, f.Payload)
			code, reason, _ := status.ParseClose(f.Payload)
			return code, reason
		case f.Opcode == frame.OpPing && pong:
			p.write(frame.OpPong, f.Payload)
		case f.Opcode.IsData() && echo:
			p.write(f.Opcode, f.Payload)
		}
	}
}

func echoPeer(p *peer)    { p.serveFrames(true, true) }
func discardPeer(p *peer) { p.serveFrames(false, false) }
