package conn

import (
	"bytes"
	"context"
	"runtime"
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
// between messages, and whether a message's inflate state is left.
func (c *Conn) deflateHeld() (int, bool) {
	e := c.ext.(*deflateExt)
	n := int(unsafe.Sizeof(*e)) + cap(e.enc.pending) + cap(e.enc.out)
	if e.enc.c != nil {
		n += e.enc.c.Size()
	}
	if e.inf.f != nil {
		n += e.inf.f.Size()
	}
	return n, e.inf.in != nil || !e.inf.takeover && e.inf.f != nil
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
		{CompressionDefault, handshake.DeflateParams{ClientNoContextTakeover: true, ServerNoContextTakeover: true}, 1 << 10},
	} {
		c, _ := idlePair(t, tc.preset, tc.p, 20)
		held, busy := c.deflateHeld()
		t.Logf("%v, %v: %d bytes held by an idle client", tc.preset, tc.p, held)
		if busy {
			t.Errorf("%v, %v: an idle client holds a message's inflate state", tc.preset, tc.p)
		}
		if held > tc.most {
			t.Errorf("%v, %v: %d bytes held, want at most %d", tc.preset, tc.p, held, tc.most)
		}
	}
}

// TestDeflateIdleHeap measures the heap that 200 idle client and server
// pairs hold, with and without compression, after 40 KB each way.
func TestDeflateIdleHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const pairs = 200
	heap := func(preset CompressionPreset, p handshake.DeflateParams) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		keep := make([]*Conn, 0, 2*pairs)
		for range pairs {
			c, s := idlePair(t, preset, p, 20)
			keep = append(keep, c, s)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(keep)
		return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (2 * pairs)
	}
	plain := heap(255, handshake.DeflateParams{})
	for _, tc := range []struct {
		preset CompressionPreset
		p      handshake.DeflateParams
	}{
		{CompressionDefault, handshake.DeflateParams{}},
		{CompressionSmall, handshake.DeflateParams{ServerMaxWindowBits: 10, ClientMaxWindowBits: 10}},
		{CompressionBest, handshake.DeflateParams{}},
		{CompressionDefault, handshake.DeflateParams{ClientNoContextTakeover: true, ServerNoContextTakeover: true}},
	} {
		t.Logf("%v, %v: %.0f bytes per Conn more than uncompressed (%.0f)", tc.preset, tc.p, heap(tc.preset, tc.p)-plain, plain)
	}
}
