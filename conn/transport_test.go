package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/reader"
	"github.com/framewire/ws/status"
)

// memTransport is an in-memory Transport that is not a net.Conn: it has
// no addresses and counts its CloseNow calls.
type memTransport struct {
	conn.Transport
	aborts int
}

func (m *memTransport) Abort() error {
	m.aborts++
	return m.Transport.Close()
}

// memPair returns a client and a server Conn joined in memory.
func memPair(clientCfg, serverCfg *conn.Config) (client, server *conn.Conn, ct, st *memTransport) {
	a, b := net.Pipe()
	ct, st = &memTransport{Transport: a}, &memTransport{Transport: b}
	if serverCfg == nil {
		serverCfg = &conn.Config{}
	}
	serverCfg.Role = conn.RoleServer
	return conn.New(ct, clientCfg), conn.New(st, serverCfg), ct, st
}

// A client and a server Conn talk over a transport that is not a net.Conn:
// messages both ways, fragments, a ping answered by the server role, and
// the closing handshake.
func TestNewClientServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server, ct, _ := memPair(&conn.Config{ControlFrames: true}, nil)
		ctx := context.Background()
		if client.LocalAddr() != nil || client.RemoteAddr() != nil {
			t.Errorf("addresses of a transport without them: %v, %v", client.LocalAddr(), client.RemoteAddr())
		}
		go func() {
			// The server echoes messages until the client's close.
			for {
				df, err := server.ReadDataFrame(ctx, nil)
				op, p := df.Opcode, df.Payload
				if err != nil || op == frame.OpClose {
					return
				}
				server.WriteMessage(ctx, op, p)
			}
		}()
		for _, msg := range []string{"hello", string(bytes.Repeat([]byte("x"), 70_000))} {
			if err := client.WriteMessage(ctx, frame.OpText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, p, err := client.ReadMessage(ctx)
			if err != nil || string(p) != msg {
				t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(p), err)
			}
		}
		if err := client.Ping(ctx, []byte("p")); err != nil {
			t.Fatal(err)
		}
		if f, err := client.ReadDataFrame(ctx, nil); f.Opcode != frame.OpPong || string(f.Payload) != "p" || err != nil {
			t.Fatalf("after a ping: %v %q %v, want the server's pong", f.Opcode, f.Payload, err)
		}
		if err := client.Close(ctx, status.NormalClosure, "bye"); err != nil {
			t.Errorf("Close = %v", err)
		}
		if ct.aborts != 0 {
			t.Errorf("Close aborted the transport")
		}
	})
}

// The server role sends unmasked frames and fails on unmasked ones; the
// client role masks and fails on masked ones (RFC 6455 §5.1).
func TestRoleMasking(t *testing.T) {
	key := mask.Key{1, 2, 3, 4}
	tests := []struct {
		role     conn.Role
		sent     string // the wire bytes of Send("Hi")
		received []byte // a frame the role must refuse
		want     error
	}{
		{conn.RoleClient, "81 82 01020304 496b", maskedFrame(key, "no"), reader.ErrMaskedFrame},
		{conn.RoleServer, "81 02 4869", []byte{0x81, 0x02, 'n', 'o'}, reader.ErrUnmaskedFrame},
	}
	for _, tt := range tests {
		t.Run(tt.role.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := net.Pipe()
				c := conn.New(a, &conn.Config{Role: tt.role, MaskKey: func() mask.Key { return key }})
				ctx := context.Background()
				go c.WriteMessage(ctx, frame.OpText, []byte("Hi"))
				want := unhex(t, tt.sent)
				got := make([]byte, len(want))
				if _, err := io.ReadFull(b, got); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("wire = %x, %v; want %x", got, err, want)
				}
				go b.Write(tt.received)
				_, _, err := c.ReadMessage(ctx)
				var fe *frame.Error
				if !errors.Is(err, tt.want) || !errors.As(err, &fe) || fe.Code != status.ProtocolError {
					t.Errorf("ReadMessage = %v, want %v with 1002", err, tt.want)
				}
				b.Close()
			})
		})
	}
}

// maskedFrame is a final text frame masked with key.
func maskedFrame(key mask.Key, payload string) []byte {
	p := []byte(payload)
	mask.Apply(p, key, 0)
	return append([]byte{0x81, 0x80 | byte(len(p)), key[0], key[1], key[2], key[3]}, p...)
}

// CloseNow uses the transport's CloseNow when it has one.
func TestCloseNowUsesTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server, ct, _ := memPair(nil, nil)
		if err := client.CloseNow(); err != nil {
			t.Fatal(err)
		}
		if ct.aborts != 1 {
			t.Errorf("transport aborted %d times, want 1", ct.aborts)
		}
		if err := client.CloseNow(); !errors.Is(err, conn.ErrClosed) {
			t.Errorf("second CloseNow = %v", err)
		}
		if _, _, err := server.ReadMessage(context.Background()); !errors.Is(err, conn.ErrConnectionLost) {
			t.Errorf("server after the client's abort: %v", err)
		}
	})
}

// Role names.
func TestRoleString(t *testing.T) {
	for r, want := range map[conn.Role]string{conn.RoleClient: "client", conn.RoleServer: "server", 7: "Role(7)"} {
		if got := r.String(); got != want {
			t.Errorf("Role(%d).String() = %q, want %q", r, got, want)
		}
	}
}
