package conformance

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// deflateMessage compresses p as a permessage-deflate sender does with w
// (a sync flush, the tail stripped).
func deflateMessage(t testing.TB, w *flate.Writer, buf *bytes.Buffer, p []byte) []byte {
	t.Helper()
	buf.Reset()
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasSuffix(b, deflateTail[:]) {
		t.Fatalf("flush did not end with the empty stored block: % x", b)
	}
	return bytes.Clone(b[:len(b)-4])
}

// refInflate inflates a message with compress/flate, given the history.
func refInflate(src, hist []byte) ([]byte, error) {
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(src), bytes.NewReader(deflateTail[:])), hist)
	out, err := io.ReadAll(r)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // no final block: the message ends with the tail
	}
	return out, err
}

// mustInflater is newClientInflater, which fails only for bits outside 8
// to 15.
func mustInflater(t testing.TB, bits int, takeover bool) *clientInflater {
	t.Helper()
	z, err := newClientInflater(bits, takeover)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func randomText(rng *rand.Rand, n int) []byte {
	words := []string{"the ", "window ", "deflate ", "frame ", "message ", "client ", "server ", "\n", "{\"id\": ", "42, "}
	var b []byte
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		if rng.IntN(8) == 0 {
			b = append(b, byte(rng.IntN(256)))
		}
	}
	return b[:n]
}

func TestClientInflaterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, level := range []int{flate.NoCompression, flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		for _, takeover := range []bool{true, false} {
			var buf bytes.Buffer
			w, _ := flate.NewWriter(&buf, level)
			z := mustInflater(t, 15, takeover)
			for i, n := range []int{0, 1, 100, 5000, 70000, 300} {
				if !takeover {
					w.Reset(&buf)
				}
				p := randomText(rng, n)
				got, err := z.inflate(nil, deflateMessage(t, w, &buf, p), 1<<20)
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("level %d takeover %v message %d: %d bytes, %v; want %d bytes", level, takeover, i, len(got), err, len(p))
				}
			}
		}
	}
}

func TestClientInflaterFinalBlockAndEmpty(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write([]byte("hello hello hello"))
	w.Close() // a final block, then nothing: allowed by RFC 7692 §7.2.3.? as BFINAL
	z := mustInflater(t, 15, false)
	if got, err := z.inflate(nil, buf.Bytes(), 100); err != nil || string(got) != "hello hello hello" {
		t.Errorf("final block: %q, %v", got, err)
	}
	if _, err := z.inflate(nil, append(bytes.Clone(buf.Bytes()), 1, 2), 100); !errors.Is(err, errCorrupt) {
		t.Errorf("data after the final block: %v, want errCorrupt", err)
	}
	for _, src := range [][]byte{nil, {0x00}} {
		if got, err := z.inflate(nil, src, 100); err != nil || len(got) != 0 {
			t.Errorf("empty message % x: %q, %v", src, got, err)
		}
	}
}

// TestClientInflaterWindow: compress/flate refers back up to 32 KiB; a
// message repeating itself at distance 1000 is fine in a 10-bit window and
// a violation in a 9-bit one.
func TestClientInflaterWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	half := make([]byte, 1000)
	for i := range half {
		half[i] = byte(rng.IntN(256))
	}
	p := append(bytes.Clone(half), half...)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	msg := deflateMessage(t, w, &buf, p)
	if got, err := mustInflater(t, 10, true).inflate(nil, msg, 1<<20); err != nil || !bytes.Equal(got, p) {
		t.Errorf("10 bits: %v", err)
	}
	if _, err := mustInflater(t, 9, true).inflate(nil, msg, 1<<20); !errors.Is(err, errWindow) {
		t.Errorf("9 bits: %v, want errWindow", err)
	}
	if _, err := mustInflater(t, 15, true).inflate(nil, msg, 1500); !errors.Is(err, errInflated) {
		t.Errorf("limit: %v, want errInflated", err)
	}
}

// TestClientInflaterNoContextTakeover: a second message that refers to the
// first is right with context takeover and a violation without.
func TestClientInflaterNoContextTakeover(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	p := []byte("a message that the second message repeats word for word")
	first := deflateMessage(t, w, &buf, p)
	second := deflateMessage(t, w, &buf, p)
	for _, takeover := range []bool{true, false} {
		z := mustInflater(t, 15, takeover)
		if _, err := z.inflate(nil, first, 1000); err != nil {
			t.Fatal(err)
		}
		got, err := z.inflate(nil, second, 1000)
		switch {
		case takeover && (err != nil || !bytes.Equal(got, p)):
			t.Errorf("takeover: %q, %v", got, err)
		case !takeover && !errors.Is(err, errNoHistory):
			t.Errorf("no takeover: %v, want errNoHistory", err)
		}
	}
}

func TestClientInflaterCorrupt(t *testing.T) {
	for _, src := range [][]byte{
		{0x07},                               // reserved block type
		{0x00, 0x05, 0x00},                   // stored block, truncated length
		{0x01, 0x01, 0x00, 0x00, 0x00, 0x41}, // final stored block, LEN and NLEN disagree
		{0x04, 0xff, 0xff, 0xff, 0xff, 0xff}, // dynamic block, garbage tables
	} {
		if _, err := mustInflater(t, 15, true).inflate(nil, src, 1<<20); !errors.Is(err, errCorrupt) {
			t.Errorf("% x: %v, want errCorrupt", src, err)
		}
	}
}

// FuzzClientInflater checks the inflater against compress/flate: whatever
// it accepts, flate inflates to the same bytes; whatever flate compresses,
// it inflates back.
func FuzzClientInflater(f *testing.F) {
	f.Add([]byte("hello, hello, hello"), []byte{0x4a, 0xcd, 0xc9}, uint8(1))
	f.Add(bytes.Repeat([]byte("abc"), 500), []byte{0x00}, uint8(9))
	f.Fuzz(func(t *testing.T, p, raw []byte, level uint8) {
		z := mustInflater(t, 15, false)
		if got, err := z.inflate(nil, raw, 1<<20); err == nil {
			want, ferr := refInflate(raw, nil)
			if len(raw) > 0 && (ferr != nil || !bytes.Equal(got, want)) {
				t.Fatalf("% x: inflater gave %q, flate %q (%v)", raw, got, want, ferr)
			}
		}
		var buf bytes.Buffer
		w, err := flate.NewWriter(&buf, int(level%11)-2)
		if err != nil {
			t.Fatal(err)
		}
		got, err := z.inflate(nil, deflateMessage(t, w, &buf, p), 1<<20)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(p), len(got), err)
		}
	})
}

// TestClientInflaterBeforeFirstMessage: with context takeover, a first
// message that refers to history there is none of is corrupt, not a
// window or takeover violation.
func TestClientInflaterBeforeFirstMessage(t *testing.T) {
	dict := []byte("a dictionary the client pretends the server shares")
	var buf bytes.Buffer
	w, _ := flate.NewWriterDict(&buf, flate.BestCompression, dict)
	msg := deflateMessage(t, w, &buf, dict)
	_, err := mustInflater(t, 15, true).inflate(nil, msg, 1000)
	if !errors.Is(err, errCorrupt) || errors.Is(err, errWindow) || !strings.Contains(err.Error(), "before the first message") {
		t.Errorf("inflate = %v, want errCorrupt before the first message", err)
	}
	if _, err := mustInflater(t, 15, false).inflate(nil, msg, 1000); !errors.Is(err, errNoHistory) {
		t.Errorf("no takeover: %v, want errNoHistory", err)
	}
}
