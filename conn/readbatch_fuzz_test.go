package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/framewire/ws/frame"
)

// chunkedStream is a Transport that reads as data, at most chunk bytes a
// Read, then as its end; what is written to it is dropped.
type chunkedStream struct {
	data  []byte
	chunk int
}

func (s *chunkedStream) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.chunk)], s.data)
	s.data = s.data[n:]
	return n, nil
}

func (s *chunkedStream) Write(p []byte) (int, error)      { return len(p), nil }
func (s *chunkedStream) Close() error                     { return nil }
func (s *chunkedStream) SetReadDeadline(time.Time) error  { return nil }
func (s *chunkedStream) SetWriteDeadline(time.Time) error { return nil }

// FuzzReadMessages reads the same server bytes with ReadMessages, with
// ReadDataFrame into a buffer it reuses, and with ReadDataFrame into nil,
// call after call: all must return the same frames, in order, and the
// first two end with the same error (the same close code when they fail
// the connection). flags picks the Config
// (ControlFrames, DeliverFragments, a small message limit), how many frames
// each ReadMessages call has room for, and how many bytes each read of
// the transport gives.
func FuzzReadMessages(f *testing.F) {
	f.Add(uint16(0x0300), []byte("\x82\x01a\x82\x00\x81\x06h\xc3\xa9llo"))
	f.Add(uint16(0x0101), []byte("\x82\x01a\x89\x01p\x82\x01b\x8a\x00\x82\x01c"))
	f.Add(uint16(0x0200), []byte("\x82\x01a\x81\x03ok\xff\x82\x01b"))
	f.Add(uint16(0x0200), []byte("\x82\x01a\x82\x01b\x88\x05\x03\xe8bye\x82\x01c"))
	f.Add(uint16(0x0204), []byte("\x82\x01a\x82\x7e\x00\x84"+strings.Repeat("x", 132)))
	f.Add(uint16(0x0302), []byte("\x82\x01a\x01\x01b\x89\x00\x80\x01c\x82\x01d"))
	f.Add(uint16(0x0710), []byte("\x82\x01a\x82\x02bc\x82\x01d"))
	// A message, an empty one, then a fragmented one with a ping between
	// its fragments, returned into the buffer being reused.
	f.Add(uint16(0x0001), []byte("\x82\x01a\x01\x00\x80\x00\x01\x06hello \x89\x06XXXXXX\x80\x05world"))
	f.Fuzz(func(t *testing.T, flags uint16, data []byte) {
		cfg := Config{
			ControlFrames:    flags&1 != 0,
			DeliverFragments: flags&2 != 0,
		}
		if flags&4 != 0 {
			cfg.MaxMessageSize = 130
		}
		room := int(flags>>8&7) + 1
		chunk := int(flags>>4&15)*17 + 1
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()

		var want []string
		one := New(&chunkedStream{data: data, chunk: chunk}, &cfg)
		defer one.CloseNow()
		var wantErr error
		for range len(data) + 2 {
			f, err := one.ReadDataFrame(ctx, nil)
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, batchShown(f))
		}

		var got []string
		many := New(&chunkedStream{data: data, chunk: chunk}, &cfg)
		defer many.CloseNow()
		ms := make([]frame.Frame, room)
		var buf []byte
		var gotErr error
		for range len(data) + 2 {
			n, b, err := many.ReadMessages(ctx, ms, buf[:0])
			buf = b
			if n < 1 && err == nil {
				t.Fatal("ReadMessages returned nothing and no error")
			}
			for _, f := range ms[:n] {
				got = append(got, batchShown(f))
			}
			if err != nil {
				gotErr = err
				break
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("ReadMessages returned\n%q\nReadDataFrame\n%q", got, want)
		}
		if errClass(gotErr) != errClass(wantErr) {
			t.Fatalf("ReadMessages ended with %v, ReadDataFrame with %v", gotErr, wantErr)
		}

		// ReadDataFrame into the buffer the last call returned, as its doc
		// shows, returns the same frames: the buffer is the caller's alone.
		var reused []string
		again := New(&chunkedStream{data: data, chunk: chunk}, &cfg)
		defer again.CloseNow()
		buf = nil
		for range len(data) + 2 {
			f, err := again.ReadDataFrame(ctx, buf[:0])
			if err != nil {
				break
			}
			reused = append(reused, batchShown(f))
			buf = f.Payload
		}
		if strings.Join(reused, "|") != strings.Join(want, "|") {
			t.Fatalf("ReadDataFrame into a reused buffer returned\n%q\ninto nil\n%q", reused, want)
		}
	})
}

// errClass is what FuzzReadMessages compares of two errors: the close
// code of a failed connection (the texts may differ where the frame was
// checked whole or as it arrived), else the error's text.
func errClass(err error) string {
	var fe *frame.Error
	if errors.As(err, &fe) {
		return fmt.Sprint("failed with ", fe.Code)
	}
	return fmt.Sprint(err)
}

// batchShown is a frame as FuzzReadMessages compares it: header and
// payload, which must be as long as the header says.
func batchShown(f frame.Frame) string {
	return fmt.Sprintf("%v fin=%v rsv=%v%v%v len=%d/%d %q", f.Opcode, f.Fin, f.Rsv1, f.Rsv2, f.Rsv3, f.Length, len(f.Payload), f.Payload)
}
