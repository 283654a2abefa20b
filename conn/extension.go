package conn

import (
	"fmt"
	"io"
	"math"

	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/internal/grow"
)

// extension is the receive half of a negotiated extension (RFC 6455 §9):
// the stage of the read pipeline between the reader and the assembler.
// permessage-deflate (RFC 7692) is the first to come; with none
// negotiated, the pipeline makes no call through this interface.
type extension interface {
	// rsv returns the reserved bits the extension owns, as a Policy with
	// only Rsv1, Rsv2 and Rsv3 set. The reader then allows exactly these,
	// and only on the first frame of a data message (see frame.Policy).
	rsv() frame.Policy
	// decoder returns the decoder of the message whose first frame, h,
	// carries some of those bits.
	decoder(h frame.Header) decoder
	// skim takes the wire payload p of each data frame, h its header,
	// that ReadFrame returns undecoded, for an extension whose decoding
	// of a message depends on the messages before it.
	skim(h frame.Header, p []byte) error
}

// decoder turns the wire payload of one message, frame after frame, into
// the message's bytes, which the assembler then checks against the size
// limit and, for text, UTF-8.
type decoder interface {
	// next starts the message's next frame: its wire payload, of the
	// length its header declares, is read from src, which returns io.EOF
	// at the end of it; fin reports that the frame ends the message. It
	// fails, with an error that matches fragment.ErrMessageTooBig (1009),
	// when that length would take the message's wire size past the limit.
	next(src io.Reader, length int64, fin bool) error
	// Read reads decoded bytes into p. It returns io.EOF once the current
	// frame is decoded (and, on the last frame, the message is flushed).
	// Any other error of src, such as a timeout, is returned as it is,
	// and the next Read continues where this one stopped.
	Read(p []byte) (int, error)
}

// decodeChunk is the room the assembler is asked for before each read of
// decoded bytes: the decoded size is not known in advance, and the
// assembler's buffer grows with what arrives, up to its limit.
const decodeChunk = 4096

// useExtension makes e the negotiated extension: the reader allows the
// reserved bits e owns, and messages marked with them are decoded by e.
func (c *Conn) useExtension(e extension) {
	c.ext = e
	p := e.rsv()
	c.rd.Policy.Rsv1, c.rd.Policy.Rsv2, c.rd.Policy.Rsv3 = p.Rsv1, p.Rsv2, p.Rsv3
}

// wireSource is a Conn seen as the wire payload of the current frame, the
// source a decoder reads: io.EOF at the frame's end.
type wireSource Conn

func (w *wireSource) Read(p []byte) (int, error) {
	c := (*Conn)(w)
	if c.rf.n == c.rf.h.Length {
		return 0, io.EOF
	}
	n, err := c.payload(p)
	if c.trace.payloads() {
		c.keepTraced(p[:n])
	}
	return n, err
}

// decodePayload is streamPayload for a message the extension marked: the
// decoder reads the frame's wire payload and the assembler receives the
// decoded bytes, so its limit and UTF-8 check apply to those.
func (c *Conn) decodePayload() error {
	for {
		buf := c.asm.Grow(decodeChunk)
		n, err := c.dec.Read(buf)
		if n > 0 {
			if cerr := c.asm.Commit(n); cerr != nil {
				return cerr
			}
		}
		switch err {
		case nil:
		case io.EOF:
			return nil
		default:
			return err
		}
	}
}

// decodeWhole decodes, for recvDeflatedWhole, a message the extension
// marked that came in one final frame, c.rf.h: the decoder writes the
// message to the end of dst, and the Assembler checks it as a message of its own
// ([fragment.Assembler.Whole]), so that it holds no buffer for such
// messages between them: an idle Conn keeps none, compressed or not. The
// decoded bytes count against the size limit as they are produced; they go
// straight into dst when it has room, or else through a pooled buffer.
// When the wire stops inside the frame (a timeout), the bytes decoded so
// far go to the Assembler and the decoder stays the message's, so that the
// next call goes on with the frame where this one stopped.
func (c *Conn) decodeWhole(dst []byte) ([]byte, error) {
	h := c.rf.h
	dec := c.ext.decoder(h)
	if err := dec.next((*wireSource)(c), h.Length, true); err != nil {
		return nil, err
	}
	limit := c.asm.MaxMessageSize
	if limit == 0 {
		limit = fragment.DefaultMaxMessageSize
	}
	buf, scratch := dst, (*[]byte)(nil)
	if cap(dst)-len(dst) < grow.Min {
		scratch = takeBuf()
		buf = *scratch
	}
	start := len(buf)
	var err error
	for err == nil {
		if cap(buf)-len(buf) < grow.Min {
			room := -1
			if limit >= 0 {
				room = int(min(int64(start)+limit+1, math.MaxInt))
			}
			buf = grow.Buffer(buf, grow.Min, room)
		}
		var n int
		n, err = dec.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if limit >= 0 && int64(len(buf)-start) > limit {
			err = fmt.Errorf("%w: more than %d bytes", fragment.ErrMessageTooBig, limit)
		} else if err != nil && err != io.EOF {
			err = c.decodeLater(dec, buf[start:], err)
		}
	}
	if scratch != nil {
		if err == io.EOF {
			dst = append(dst, buf...)
		}
		*scratch = buf
		giveBuf(&scratch)
	} else {
		dst = buf
	}
	if err != io.EOF {
		return nil, err
	}
	c.rf.mode = modeNone
	p := dst[len(dst)-(len(buf)-start):]
	return dst, c.asm.Whole(h.Opcode, p)
}

// decodeLater hands the message decodeWhole was decoding to the general
// path, after the wire failed with err: the Assembler takes the bytes p
// decoded so far, and dec goes on with the rest. It returns err, or the
// Assembler's verdict on p.
func (c *Conn) decodeLater(dec decoder, p []byte, err error) error {
	h := c.rf.h
	h.Length = -1 // the decoded length is not known
	if aerr := c.asm.Begin(h); aerr != nil {
		return aerr
	}
	if aerr := c.asm.Write(p); aerr != nil {
		return aerr
	}
	c.dec = dec
	return err
}
