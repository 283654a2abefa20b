package conn

import (
	"bytes"
	"context"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/handshake"
)

// pipeBuf is a non-blocking in-memory transport end.
type pipeBuf struct{ in, out *bytes.Buffer }

func (l pipeBuf) Read(p []byte) (int, error)     { return l.in.Read(p) }
func (l pipeBuf) Write(p []byte) (int, error)    { return l.out.Write(p) }
func (pipeBuf) Close() error                     { return nil }
func (pipeBuf) SetReadDeadline(time.Time) error  { return nil }
func (pipeBuf) SetWriteDeadline(time.Time) error { return nil }

// deflateHeld returns the bytes the Conn's permessage-deflate holds
// between messages, and what it holds that an idle Conn must not: a
// message's buffers, and without context takeover a compressor or an
// inflater, which belong in their pools.
func (c *Conn) deflateHeld() (int, []string) {
	e := c.ext.(*deflateExt)
	n := int(unsafe.Sizeof(*e))
	var left []string
	for _, b := range []struct {
		name string
		b    *[]byte
	}{{"the bytes of a message under the threshold", e.enc.pending}, {"a compressed message", e.enc.out}} {
		if b.b != nil {
			n += cap(*b.b)
			left = append(left, b.name)
		}
	}
	if e.inf.m != nil {
		left = append(left, "a message's inflate state")
	}
	if e.enc.c != nil {
		n += e.enc.c.Size()
		if !e.enc.takeover {
			left = append(left, "a compressor")
		}
	}
	if e.inf.f != nil {
		n += e.inf.f.Size()
		if !e.inf.takeover {
			left = append(left, "an inflater")
		}
	}
	if cap(c.msg.Payload) > 0 {
		left = append(left, "a message buffer")
	}
	return n, left
}

// idlePair makes a client and a server that agreed p, and sends rounds
// messages of 2000 bytes each way: 20 rounds fill the largest history.
func idlePair(t testing.TB, preset CompressionPreset, p handshake.DeflateParams, rounds int) (client, server *Conn) {
	c2s, s2c := new(bytes.Buffer), new(bytes.Buffer)
	var cfg *Config
	if preset != 255 {
		cfg = &Config{Compression: &Compression{Preset: preset, Agreed: p}}
	}
	client = New(pipeBuf{in: s2c, out: c2s}, cfg)
	scfg := Config{Role: RoleServer}
	if cfg != nil {
		scfg.Compression = cfg.Compression
	}
	server = New(pipeBuf{in: c2s, out: s2c}, &scfg)
	ctx := context.Background()
	m := bytes.Repeat([]byte(`{"id":1,"name":"someone","tags":["a","b"]} `), 50)
	m = m[:2000]
	for i := range 2 * rounds {
		d := [2]*Conn{client, server}
		if i%2 == 1 {
			d[0], d[1] = server, client
		}
		if err := d[0].WriteMessage(ctx, frame.OpText, m); err != nil {
			t.Fatal(err)
		}
		if _, got, err := d[1].ReadMessage(ctx); err != nil || !bytes.Equal(got, m) {
			t.Fatalf("ReadMessage: %v", err)
		}
	}
	// Both pipes are empty: drop their arrays, which hold what the
	// largest write left (more for uncompressed messages), so that what
	// stays is the Conns'.
	*c2s, *s2c = bytes.Buffer{}, bytes.Buffer{}
	return client, server
}

// After 40 KB each way, a client with context takeover both ways
// holds at most 64 KiB for compression at the default preset, and without
// takeover only its small structs: compressors and inflaters are pooled.
func TestDeflateIdleMemory(t *testing.T) {
	for _, tc := range []struct {
		preset CompressionPreset
		p      handshake.DeflateParams
		most   int
	}{
		{CompressionDefault, handshake.DeflateParams{}, 64 << 10},
		// python websockets' answer: the inflater keeps 4 KiB, not 32.
		{CompressionDefault, handshake.DeflateParams{ServerMaxWindowBits: 12}, 32 << 10},
		{CompressionSmall, handshake.DeflateParams{ServerMaxWindowBits: 10}, 16 << 10},
		{CompressionBest, handshake.DeflateParams{}, 320 << 10},
		{CompressionDefault, handshake.DeflateParams{ClientNoContextTakeover: true, ServerNoContextTakeover: true}, 128},
	} {
		c, _ := idlePair(t, tc.preset, tc.p, 20)
		held, left := c.deflateHeld()
		t.Logf("%v, %v: %d bytes held by an idle client", tc.preset, tc.p, held)
		if left != nil {
			t.Errorf("%v, %v: an idle client holds %s", tc.preset, tc.p, strings.Join(left, ", "))
		}
		if held > tc.most {
			t.Errorf("%v, %v: %d bytes held, want at most %d", tc.preset, tc.p, held, tc.most)
		}
	}
}

// TestDeflateIdleHeap measures the heap that 200 idle client and server
// pairs hold, with and without compression, after 40 KB each way, but for
// the message buffer kept for reuse.
func TestDeflateIdleHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const pairs = 200
	heap := func(preset CompressionPreset, p handshake.DeflateParams) float64 {
		var before, after runtime.MemStats
		// Two collections each time: the first moves the pools' buffers
		// to their victim caches, which stay live until the second.
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		keep := make([]*Conn, 0, 2*pairs)
		for range pairs {
			c, s := idlePair(t, preset, p, 20)
			keep = append(keep, c, s)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		// Not counted: the message buffer a Conn keeps for its next
		// message (an uncompressed one; an inflated one's is pooled).
		kept := 0
		for _, c := range keep {
			kept += reflect.ValueOf(&c.asm).Elem().FieldByName("buf").Cap()
		}
		return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)-int64(kept)) / (2 * pairs)
	}
	// The least of three rounds: what else runs can only add. The first
	// pairs pay for what the runtime keeps once made (the descriptors of
	// the goroutines that ended, say): a first round discarded, every
	// case starts level.
	least := func(preset CompressionPreset, p handshake.DeflateParams) float64 {
		return min(heap(preset, p), heap(preset, p), heap(preset, p))
	}
	heap(255, handshake.DeflateParams{})
	plain := least(255, handshake.DeflateParams{})
	for _, tc := range []struct {
		preset CompressionPreset
		p      handshake.DeflateParams
		most   float64 // bytes more than uncompressed; 0: not checked
	}{
		{CompressionDefault, handshake.DeflateParams{}, 0},
		{CompressionSmall, handshake.DeflateParams{ServerMaxWindowBits: 10, ClientMaxWindowBits: 10}, 0},
		{CompressionBest, handshake.DeflateParams{}, 0},
		// The extension's state only (112 bytes), with room for the
		// measurement's noise.
		{CompressionDefault, handshake.DeflateParams{ClientNoContextTakeover: true, ServerNoContextTakeover: true}, float64(unsafe.Sizeof(deflateExt{})) + 64},
	} {
		more := least(tc.preset, tc.p) - plain
		t.Logf("%v, %v: %.0f bytes per Conn more than uncompressed (%.0f)", tc.preset, tc.p, more, plain)
		if tc.most != 0 && more > tc.most {
			t.Errorf("%v, %v: %.0f bytes per Conn more than uncompressed, want at most %.0f", tc.preset, tc.p, more, tc.most)
		}
	}
}

// However a message is sent and received, an idle Conn without context
// takeover holds no compressor, inflater or message buffer afterwards, and
// with takeover no message buffer: those are pooled.
func TestDeflateIdleHoldsNothingPooled(t *testing.T) {
	ctx := context.Background()
	m := bytes.Repeat([]byte(`{"id":1,"name":"someone","tags":["a","b"]} `), 300)
	sends := map[string]func(c *Conn) error{
		"WriteMessage":  func(c *Conn) error { return c.WriteMessage(ctx, frame.OpText, m) },
		"WriteMessages": func(c *Conn) error { return c.WriteMessages(ctx, frame.OpText, m[:500], m) },
		"NextWriter": func(c *Conn) error {
			w, err := c.NextWriter(ctx, frame.OpText)
			if err != nil {
				return err
			}
			w.Write(m[:3000])
			w.Write(m[3000:])
			return w.Close()
		},
	}
	recvs := map[string]func(c *Conn) error{
		"ReadMessage": func(c *Conn) error { _, _, err := c.ReadMessage(ctx); return err },
		"ReadDataFrame into a buffer": func(c *Conn) error {
			_, err := c.ReadDataFrame(ctx, make([]byte, 0, 64<<10))
			return err
		},
		"ReadDataFrame into nil": func(c *Conn) error { _, err := c.ReadDataFrame(ctx, nil); return err },
		"ReadDataFrame into a small buffer": func(c *Conn) error {
			_, err := c.ReadDataFrame(ctx, make([]byte, 0, 100))
			return err
		},
	}
	for _, p := range []handshake.DeflateParams{{ClientNoContextTakeover: true, ServerNoContextTakeover: true}, {}} {
		for sname, send := range sends {
			for rname, recv := range recvs {
				c, s := idlePair(t, CompressionDefault, p, 0)
				for _, d := range [][2]*Conn{{c, s}, {s, c}} {
					if err := send(d[0]); err != nil {
						t.Fatal(err)
					}
					for {
						if err := recv(d[1]); err != nil {
							t.Fatal(err)
						}
						if d[1].rd.Buffered() == 0 && d[1].t.(pipeBuf).in.Len() == 0 {
							break // both messages of WriteMessages read
						}
					}
				}
				if _, left := c.deflateHeld(); left != nil {
					t.Errorf("%v, %s then %s: an idle client holds %s", p, sname, rname, strings.Join(left, ", "))
				}
			}
		}
	}
}
