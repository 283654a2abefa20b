// Command h2echo is the Go peer of the interop bed for WebSocket over
// HTTP/2 (RFC 8441): an echo server on golang.org/x/net/http2 with a
// WebSocket codec of its own (it uses nothing of framewire), so that the
// bed checks framewire against an independent implementation.
//
// Usage:
//
//	GODEBUG=http2xconnect=1 h2echo -h2c 127.0.0.1:N -tls 127.0.0.1:M -cert server.pem -key server.key
//
// x/net/http2 advertises SETTINGS_ENABLE_CONNECT_PROTOCOL only when GODEBUG
// holds http2xconnect=1 at start; without it the same program is the bed's
// HTTP/2 server that does not, to prove a client's fallback. On -h2c it
// speaks HTTP/2 with prior knowledge only; on -tls it offers h2 and
// http/1.1 by ALPN. Both accept an extended CONNECT with :protocol
// websocket (answered 200) and an HTTP/1.1 upgrade (101) on any path, and
// echo text as text and binary as binary, messages up to 64 MiB, choosing
// the first of "chat" and "superchat" the client offers and no extension.
// After answering a close frame it ends the stream (END_STREAM, then
// x/net's RST_STREAM NO_ERROR if the client has not ended its side) or
// closes the TCP connection.
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

const maxMessage = 64 << 20

func main() {
	h2cAddr := flag.String("h2c", "", "address for HTTP/2 with prior knowledge")
	tlsAddr := flag.String("tls", "", "address for TLS (ALPN h2, http/1.1)")
	cert := flag.String("cert", "", "certificate PEM file for -tls")
	key := flag.String("key", "", "key PEM file for -tls")
	flag.Parse()

	h2s := &http2.Server{IdleTimeout: 5 * time.Minute}
	h := http.HandlerFunc(serve)
	errc := make(chan error, 2)
	if *h2cAddr != "" {
		ln, err := net.Listen("tcp", *h2cAddr)
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					errc <- err
					return
				}
				go h2s.ServeConn(c, &http2.ServeConnOpts{Handler: h})
			}
		}()
	}
	if *tlsAddr != "" {
		hs := &http.Server{Addr: *tlsAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
		if err := http2.ConfigureServer(hs, h2s); err != nil {
			log.Fatal(err)
		}
		go func() { errc <- hs.ListenAndServeTLS(*cert, *key) }()
	}
	log.Fatal(<-errc)
}

// serve accepts a WebSocket over HTTP/2 or HTTP/1.1 and echoes.
func serve(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported Sec-WebSocket-Version", http.StatusBadRequest)
		return
	}
	if p := subprotocol(r.Header); p != "" {
		w.Header().Set("Sec-WebSocket-Protocol", p)
	}
	if r.ProtoMajor == 2 {
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "not an extended CONNECT for websocket", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			return
		}
		err := echo(bufio.NewReader(r.Body), w, rc.Flush)
		logEnd("h2", err)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "not a WebSocket upgrade", http.StatusBadRequest)
		return
	}
	nc, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer nc.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", base64.StdEncoding.EncodeToString(sum[:]))
	if p := w.Header().Get("Sec-WebSocket-Protocol"); p != "" {
		fmt.Fprintf(rw, "Sec-WebSocket-Protocol: %s\r\n", p)
	}
	rw.WriteString("\r\n")
	if err := rw.Flush(); err != nil {
		return
	}
	logEnd("http/1.1", echo(rw.Reader, rw.Writer, rw.Flush))
}

func logEnd(proto string, err error) {
	if err != nil && !errors.Is(err, io.EOF) {
		log.Printf("%s: %v", proto, err)
	}
}

// subprotocol picks the first of chat and superchat that h offers.
func subprotocol(h http.Header) string {
	offered := map[string]bool{}
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			offered[strings.TrimSpace(p)] = true
		}
	}
	for _, p := range []string{"chat", "superchat"} {
		if offered[p] {
			return p
		}
	}
	return ""
}

// echo reads the client's frames (RFC 6455 §5.2) from r and writes the
// answers to w, calling flush after each, until the closing handshake
// ends or a frame breaks the protocol. It returns nil after the closing
// handshake.
func echo(r *bufio.Reader, w io.Writer, flush func() error) error {
	send := func(op byte, p []byte) error {
		var h []byte
		h = append(h, 0x80|op)
		switch n := len(p); {
		case n <= 125:
			h = append(h, byte(n))
		case n <= 0xFFFF:
			h = binary.BigEndian.AppendUint16(append(h, 126), uint16(n))
		default:
			h = binary.BigEndian.AppendUint64(append(h, 127), uint64(n))
		}
		if _, err := w.Write(append(h, p...)); err != nil {
			return err
		}
		return flush()
	}
	var msg []byte
	msgOp := byte(0)
	for {
		fin, op, p, err := readFrame(r, maxMessage-len(msg))
		if err != nil {
			return err
		}
		switch {
		case op == 0x8:
			if len(p) >= 2 {
				p = p[:2]
			}
			return send(0x8, p)
		case op == 0x9:
			if err := send(0xA, p); err != nil {
				return err
			}
			continue
		case op == 0xA:
			continue
		case op == 0x0 && msgOp != 0:
		case (op == 0x1 || op == 0x2) && msgOp == 0:
			msgOp, msg = op, msg[:0]
		default:
			send(0x8, binary.BigEndian.AppendUint16(nil, 1002))
			return fmt.Errorf("unexpected opcode %#x", op)
		}
		msg = append(msg, p...)
		if fin {
			if err := send(msgOp, msg); err != nil {
				return err
			}
			msgOp = 0
		}
	}
}

// readFrame reads one masked frame whose payload is at most limit bytes,
// growing the payload as it arrives.
func readFrame(r *bufio.Reader, limit int) (fin bool, op byte, p []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	if h[0]&0x70 != 0 || h[1]&0x80 == 0 {
		return false, 0, nil, errors.New("reserved bits set or frame not masked")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > uint64(limit) {
		return false, 0, nil, fmt.Errorf("message over %d bytes", maxMessage)
	}
	var key [4]byte
	if _, err = io.ReadFull(r, key[:]); err != nil {
		return
	}
	var buf strings.Builder
	if _, err = io.CopyN(&buf, r, int64(n)); err != nil {
		return
	}
	p = []byte(buf.String())
	for i := range p {
		p[i] ^= key[i&3]
	}
	return h[0]&0x80 != 0, h[0] & 0x0F, p, nil
}
