package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
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

// gunzip returns the text of the gzip members in p, as Python's
// gzip.decompress reads them: zero bytes may follow each member, and
// anything else must be another member. The text must be UTF-8 and at
// most maxInflated bytes.
func gunzip(p []byte) (string, bool) {
	br := bytes.NewReader(p)
	var text []byte
	for br.Len() > 0 {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", false
		}
		zr.Multistream(false)
		b, err := io.ReadAll(io.LimitReader(zr, int64(maxInflated+1-len(text))))
		if text = append(text, b...); err != nil || len(text) > maxInflated {
			return "", false
		}
		for br.Len() > 0 {
			if c, _ := br.ReadByte(); c != 0 {
				br.UnreadByte()
				break
			}
		}
	}
	if !utf8.Valid(text) {
		return "", false
	}
	return string(text), true
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
