package bench

import (
	"bytes"
	"context"
	"testing"
)

var echoSizes = []int{1 << 10, 64 << 10}

// TestEcho checks every client against the echo server before the
// benchmark trusts its numbers.
func TestEcho(t *testing.T) {
	srv := startEchoServer(t)
	for _, lib := range libraries() {
		t.Run(lib.name, func(t *testing.T) {
			c, err := lib.dial(t.Context(), srv.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			checkEcho(t, c, append([]int{0, 1, 125, 126, 65535, 65536}, echoSizes...))
		})
	}
}

// checkEcho sends a message of each size on c and checks its echo.
func checkEcho(t *testing.T, c client, sizes []int) {
	t.Helper()
	for _, size := range sizes {
		p := payloadOf(size)
		if err := c.send(p); err != nil {
			t.Fatalf("send %d bytes: %v", size, err)
		}
		got, err := c.recv()
		if err != nil {
			t.Fatalf("recv %d bytes: %v", size, err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("echo of %d bytes came back as %d different bytes", size, len(got))
		}
	}
}

func payloadOf(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i * 31)
	}
	return p
}

// BenchmarkEcho sends one binary message over loopback TCP to the echo
// server and receives it back; one op is one round trip, and MB/s counts
// the payload once. Client and server share the machine's cores, so
// compare ratios within one run.
func BenchmarkEcho(b *testing.B) {
	srv := startEchoServer(b)
	for _, size := range echoSizes {
		p := payloadOf(size)
		for _, lib := range libraries() {
			b.Run(sizeName(size)+"/"+lib.name, func(b *testing.B) { echoLoop(b, lib, srv.url, p) })
		}
	}
}

// echoLoop is the loop of an echo benchmark: one op is p sent by lib's
// client to the echo server at url and received back.
func echoLoop(b *testing.B, lib library, url string, p []byte) {
	c, err := lib.dial(context.Background(), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.send(p); err != nil {
			b.Fatal(err)
		}
		got, err := c.recv()
		if err != nil || len(got) != len(p) {
			b.Fatal(len(got), err)
		}
	}
}
