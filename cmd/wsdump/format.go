package main

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/pyrepr"
)

// maxInflated bounds the decompressed size of a payload shown as [gzip] or
// [zlib]; a larger one is shown as bytes.
const maxInflated = 1 << 20

// describe returns how wsdump shows a received frame's payload: text as
// is, nothing for a close, a gzip or raw deflate stream that inflates to
// UTF-8 as "[gzip] ..." or "[zlib] ...", any other bytes as a Python bytes
// literal.
func describe(op frame.Opcode, p []byte) string {
	switch op {
	case frame.OpText:
		return string(p)
	case frame.OpClose:
		return ""
	}
	if len(p) > 2 && p[0] == 0x1f && p[1] == 0x8b {
		if s, ok := gunzip(p); ok {
			return "[gzip] " + s
		}
	} else if s, ok := inflate(flate.NewReader(bytes.NewReader(p))); ok {
		return "[zlib] " + s
	}
	return pyrepr.Bytes(p)
}

// gunzip returns the text of the gzip members in p (RFC 1952), as
// Python's gzip.decompress reads them: each member's header (its optional
// fields skipped whatever their length, its header checksum not checked),
// its deflate data, and its CRC-32 and length, which must match; zero
// bytes may follow each member, and anything else must be another. The
// text must be UTF-8 and at most maxInflated bytes.
func gunzip(p []byte) (string, bool) {
	var text []byte
	for len(p) > 0 {
		body, ok := gzipBody(p)
		if !ok {
			return "", false
		}
		br := bytes.NewReader(body)
		fr := flate.NewReader(br)
		m, err := io.ReadAll(io.LimitReader(fr, int64(maxInflated+1-len(text))))
		if text = append(text, m...); err != nil || len(text) > maxInflated {
			return "", false
		}
		if _, err := fr.Read(make([]byte, 1)); err != io.EOF {
			return "", false // the limit stopped it inside the member
		}
		var trailer [8]byte
		if _, err := io.ReadFull(br, trailer[:]); err != nil ||
			binary.LittleEndian.Uint32(trailer[:4]) != crc32.ChecksumIEEE(m) ||
			binary.LittleEndian.Uint32(trailer[4:]) != uint32(len(m)) {
			return "", false
		}
		p = bytes.TrimLeft(body[len(body)-br.Len():], "\x00")
	}
	if !utf8.Valid(text) {
		return "", false
	}
	return string(text), true
}

// gzipBody returns what follows the gzip member header p starts with, or
// false when p starts with no such header.
func gzipBody(p []byte) ([]byte, bool) {
	const (
		fhcrc    = 1 << 1
		fextra   = 1 << 2
		fname    = 1 << 3
		fcomment = 1 << 4
	)
	if len(p) < 10 || p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 {
		return nil, false
	}
	flags, p := p[3], p[10:]
	if flags&fextra != 0 {
		if len(p) < 2 || len(p)-2 < int(binary.LittleEndian.Uint16(p)) {
			return nil, false
		}
		p = p[2+int(binary.LittleEndian.Uint16(p)):]
	}
	for _, f := range []byte{fname, fcomment} {
		if flags&f != 0 {
			// To its zero byte, or to the end, as Python reads it.
			if i := bytes.IndexByte(p, 0); i >= 0 {
				p = p[i+1:]
			} else {
				p = p[len(p):]
			}
		}
	}
	if flags&fhcrc != 0 {
		if len(p) < 2 {
			return nil, false
		}
		p = p[2:]
	}
	return p, true
}

// inflate reads r to its end and returns the text, if it is UTF-8 and at
// most maxInflated bytes.
func inflate(r io.ReadCloser) (string, bool) {
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil || len(b) > maxInflated || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// console prints received messages, either one plain line each or, on a
// terminal, in colour between prompts.
type console struct {
	mu          sync.Mutex
	w           io.Writer
	interactive bool
	verbose     int
	timings     bool
	start       time.Time
}

// message prints a received message or control frame as wsdump does: with
// -v, prefixed with the opcode's name; with --timings, with the seconds
// since start. On a terminal a new prompt follows, except after a close,
// which ends the session.
func (c *console) message(op frame.Opcode, p []byte) {
	msg := describe(op, p)
	if c.verbose > 0 {
		msg = op.String() + ": " + msg
	}
	if c.timings {
		msg = strconv.FormatFloat(time.Since(c.start).Seconds(), 'f', -1, 64) + ": " + msg
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interactive {
		prompt := "> "
		if op == frame.OpClose {
			prompt = ""
		}
		io.WriteString(c.w, "\x1b[2K\x1b[E\x1b[34m< "+msg+"\x1b[39m\n"+prompt)
		return
	}
	io.WriteString(c.w, msg+"\n")
}

// prompt shows "> " on a terminal.
func (c *console) prompt() {
	if !c.interactive {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, "> ")
}

// note prints a line of wsdump's own, such as "Press Ctrl+C to quit".
func (c *console) note(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, s+"\n")
}
