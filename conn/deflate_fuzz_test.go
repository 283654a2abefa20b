package conn_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"testing"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/status"
)

// FuzzInflate receives data as a compressed message split into frames at
// cut, twice (the second message inflates with the first as history). The
// Conn must never panic and must end each message as inflateReference,
// compress/flate on the same stream, allows: return the message it
// inflates to, or fail the connection with a code it names.
func FuzzInflate(f *testing.F) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	f.Add(flateMessage(f, w, &buf, textOf(3000, 0)), 100)
	f.Add(flateMessage(f, w, &buf, textOf(300, 1)), 7)
	f.Add([]byte{0xff, 0x00}, 1)
	f.Add(zeroStream(f, 1), 50)
	// The same bomb in one frame, inflated straight into the message.
	bomb := zeroStream(f, 1)
	f.Add(bomb, len(bomb))
	// The example of RFC 7692 §7.2.3.4: "Hello" in a final block, then an
	// octet that begins an empty stored block with the tail.
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, 3)
	// The same final block followed by bytes that are no block.
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xff, 0xff}, 4)
	// A message cut inside its block, and one that refers back 10 bytes
	// when the history holds fewer.
	w.Reset(&buf)
	cutShort := flateMessage(f, w, &buf, textOf(300, 2))
	f.Add(cutShort[:len(cutShort)/2], 20)
	f.Add([]byte{0x02, 0x13, 0x00, 0x00}, 2)
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		c, _, _, s2c := deflatePair(handshake.DeflateParams{}, conn.Config{MaxMessageSize: limit}, conn.Config{})
		cut = max(cut%(len(data)+1), 1)
		for range 2 {
			s2c.Write(serverFrames(fragments(frame.OpBinary, data, cut)...))
		}
		var hist []byte
		for i := range 2 {
			want := inflateReference(data, hist[max(len(hist)-1<<15, 0):], limit)
			_, got, err := c.ReadMessage(context.Background())
			if err != nil {
				var fe *frame.Error
				if !errors.As(err, &fe) || !slices.Contains(want.codes, fe.Code) {
					t.Fatalf("message %d: %v; want %v", i, err, want)
				}
				return
			}
			if !want.ok || !bytes.Equal(got, want.msg) {
				t.Fatalf("message %d: %d bytes %q; want %v", i, len(got), shorten(got), want)
			}
			hist = append(hist, got...)
		}
	})
}

// inflateWant is how a receiver may end a compressed message: return msg,
// when ok, or fail the connection with one of codes.
type inflateWant struct {
	msg   []byte
	ok    bool
	codes []status.Code
}

func (w inflateWant) String() string {
	s := "no message"
	if w.ok {
		s = fmt.Sprintf("%d bytes %q", len(w.msg), shorten(w.msg))
	}
	return fmt.Sprintf("%s, or a failure with one of %v", s, w.codes)
}

// inflateTail is what a receiver appends to a message's data (RFC 7692
// §7.2.2), then, for the reference alone, a final stored block of 8
// bytes: only a stream that the tail leaves between blocks, as §7.2.1
// has the sender leave it, inflates to a result that ends with them.
var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x08, 0x00, 0xf7, 0xff, 'f', 'r', 'a', 'm', 'e', 'e', 'n', 'd'}

// inflateMark is the payload of inflateTail's final block.
var inflateMark = inflateTail[9:]

// inflateReadMax bounds the output inflateReference reads, in message
// limits: a receiver that keeps its limit decodes less than a limit's
// worth ahead of what it returned (the Conn, about its 32 KiB window),
// and a bomb's next mebibytes cost a millisecond for every input.
const inflateReadMax = 2

// inflateReference is what RFC 7692 asks of a receiver with a message
// limit of limit bytes for the compressed message data, after the
// history hist (context takeover), judged with compress/flate:
//
//   - Data that inflates, with the tail appended, to at most limit bytes
//     and leaves the stream between blocks is that message.
//   - Data that inflates to more than limit bytes fails with 1009 (RFC
//     6455 §10.4), or with 1007 when it is not DEFLATE further on: a
//     receiver that decodes ahead of its output may find that first. The
//     reference reads no more than inflateReadMax times the limit.
//   - Data that is not DEFLATE within the limit, or that the tail leaves
//     inside a block, fails with 1007 (RFC 6455 §7.4.1: data not
//     consistent with the type of the message).
//   - Data in which a final block ends the stream is the message up to
//     it (§7.2.3.4 lets a sender flush that way). What follows such a
//     block is not DEFLATE data; §7.2.3.4 shows a 0x00 octet after it,
//     which the tail makes an empty stored block, so the message must be
//     taken with that or nothing after it, and may be taken or refused
//     (1007) with anything else.
//
// 1009 is also allowed for data over limit bytes, whatever it inflates
// to: RFC 6455 §10.4 limits the message as it arrives, its frames'
// payloads, too. No input of FuzzInflate breaks a rule of RFC 7692 whose
// code is 1002 (RSV1 on a continuation frame, for one), so no want has it.
func inflateReference(data, hist []byte, limit int) inflateWant {
	var w inflateWant
	if len(data) > limit {
		w.codes = append(w.codes, status.MessageTooBig)
	}
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(data), bytes.NewReader(inflateTail)), hist)
	out, err := io.ReadAll(io.LimitReader(r, inflateReadMax*int64(limit)))
	complete := err == nil && bytes.HasSuffix(out, inflateMark)
	if complete {
		out = out[:len(out)-len(inflateMark)]
	}
	switch {
	case len(out) > limit:
		w.codes = append(w.codes, status.MessageTooBig)
		if err != nil {
			w.codes = append(w.codes, status.InvalidPayload)
		}
	case err != nil:
		w.codes = append(w.codes, status.InvalidPayload)
	case complete:
		w.msg, w.ok = out, true
	default:
		// A final block ended the stream, within the first k bytes of
		// the data, or, when k is past them, with some of the tail's.
		w.msg, w.ok = out, true
		k := sort.Search(len(data)+1, func(k int) bool {
			_, err := io.Copy(io.Discard, flate.NewReaderDict(bytes.NewReader(data[:k]), hist))
			return err == nil
		})
		if k > len(data) || len(data[k:]) > 0 && !bytes.Equal(data[k:], []byte{0x00}) {
			w.codes = append(w.codes, status.InvalidPayload)
		}
	}
	return w
}
