package conn

import (
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/framewire/ws/fragment"
	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/mask"
	"github.com/framewire/ws/reader"
)

// Role says which end of a connection a [Conn] is (RFC 6455 §5.1).
type Role uint8

const (
	// RoleClient masks every frame it sends and fails the connection on a
	// masked frame. It is the zero Role.
	RoleClient Role = iota
	// RoleServer sends frames unmasked and fails the connection on an
	// unmasked frame.
	RoleServer
)

// String returns "client" or "server".
func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Config is a connection's configuration, apart from how it was dialed:
// its role, limits and policies. The zero Config is a client with the
// defaults. A Config is read once, when the Conn is made; changing it
// later changes no Conn.
//
// Numbers follow one convention here and in [Dialer]: 0 means the default,
// a negative value turns the setting off (no limit, no bound, no
// redirect, no compression threshold), and any other value is used as it
// is. ReadBufferSize alone has no off (a negative value is its default
// too) and is rounded up to a power of two.
type Config struct {
	// Role is the end of the connection: RoleClient (the zero value) or
	// RoleServer.
	Role Role

	// MaxFrameSize limits a received frame's payload: 0 means
	// reader.DefaultMaxFrameSize (16 MiB), a negative value no limit.
	MaxFrameSize int64

	// MaxMessageSize limits a received message: 0 means
	// fragment.DefaultMaxMessageSize (32 MiB), a negative value no limit.
	// An empty continuation frame that does not end the message counts
	// fragment.EmptyFrameCost (2) bytes, so that the limit bounds the
	// frames of a message too. A compressed message is held to it twice:
	// its bytes on the wire and its inflated bytes (so a message that
	// does not compress can fail a little below the limit).
	MaxMessageSize int64

	// ReadBufferSize is the size of the buffer received bytes are read
	// into: 0 or a negative value means DefaultReadBufferSize (16 KiB);
	// other values are rounded up to a power of two between 64 bytes and
	// 1 MiB. The buffer
	// is lent by a pool only while received bytes wait in it: a Conn
	// waiting for a message over a TCP or Unix socket holds none, so a
	// larger buffer costs an idle connection nothing, but a receive
	// waiting for the rest of a frame holds it. A larger one reads more
	// per system call, and a binary frame that fits in it is read whole
	// and copied once. Many connections that receive at the same time
	// may want a smaller one.
	ReadBufferSize int

	// WriteTimeout bounds the sends whose context has no deadline (such
	// as context.Background): a send that the peer leaves waiting for
	// WriteTimeout with no progress, because it stopped reading, fails
	// the connection with an error matching [ErrWriteTimeout], and the
	// connection is reset, as by CloseNow: what is unsent would never
	// leave. Progress is each write to the socket (of at most
	// 32 KiB where no acknowledgement is seen, 256 KiB where it is, or
	// the send queue's frames) that begins and, over TCP (and
	// TLS over it) on Linux, any byte the peer's TCP acknowledges, even
	// while the kernel's send buffer keeps a write blocked. So a large
	// message the peer takes slowly is never stopped. A stalled send
	// fails between WriteTimeout and an eighth more after the last
	// progress. TCP shows a slow reader's progress in steps, as its
	// window reopens (gaps of up to 3 s measured on loopback), so a
	// WriteTimeout of a few seconds or less can cut such a reader.
	//
	// 0 means DefaultWriteTimeout (30 seconds), a negative value no
	// bound: such a send then waits until the peer reads or hangs up, or
	// another call (a receive, Close) ends the connection. A context with
	// a deadline bounds its send alone, whatever WriteTimeout. Frames in
	// the send queue (see [Conn.Buffered]), whose senders have returned,
	// are written by whichever call holds the write lock; with no bound
	// that call could wait for ever on frames not its own, so they keep
	// one: a write of them that the peer leaves waiting for ReplyTimeout
	// fails the connection with [ErrWriteTimeout]. A sender that wants no
	// bound at all sends with WriteMessages, which waits for the lock and
	// writes its frames itself, never queueing them.
	WriteTimeout time.Duration

	// SkipUTF8Validation turns off the UTF-8 checks of received text and
	// close reasons, and of sent text.
	SkipUTF8Validation bool

	// DeliverFragments makes ReadDataFrame return each fragment of a
	// message as it arrives (websocket-client's fire_cont_frame), and so
	// ReadMessages and ReadMessage: continuations come with
	// frame.OpContinuation, and a frame's Fin tells where a message ends
	// (ReadMessage, which returns no Fin, cannot tell).
	DeliverFragments bool

	// ControlFrames makes ReadDataFrame also return ping
	// and pong frames (websocket-client's recv_data_frame(control_frame=True)).
	// Pings are answered either way.
	ControlFrames bool

	// MaskKey returns the masking key of each frame a client sends
	// (websocket-client's set_mask_key). Nil means a per-connection
	// mask.Source, a cryptographically strong generator. A fixed key is
	// for tests only: RFC 6455 §5.3 requires unpredictable keys.
	MaskKey func() mask.Key

	// AllowIllegalWrites makes WriteFrame send frames as given, for test
	// harnesses that probe how a peer handles broken frames: reserved
	// bits and opcodes, fragmented or long control frames, any close
	// payload, and frames masked or not whatever the role. Only the
	// payload length is filled in, so the stream stays framed, and a
	// masked frame gets a fresh key. Applications leave it off.
	AllowIllegalWrites bool

	// Compression turns on permessage-deflate (RFC 7692): a Dialer
	// offers it and uses it if the server agrees; New uses it with the
	// parameters in Compression.Agreed. Nil, the default, leaves the
	// connection uncompressed. See [Compression].
	Compression *Compression

	// Trace and Logger receive the trace: the handshake and every frame
	// sent and received. Trace gets websocket-client's enableTrace text,
	// Logger structured debug records (see the package doc's Tracing
	// section). Authorization, Proxy-Authorization, Cookie and Set-Cookie
	// values are replaced by ***; the text shows a payload's first 16 KiB.
	Trace  io.Writer
	Logger *slog.Logger
}

// settings are the fields of a Config that a Conn reads after New. A Conn
// keeps them rather than the whole Config, so that it stays in the
// allocator's 896-byte size class (TestIdleConnSize).
type settings struct {
	maskKey            func() mask.Key
	maxMessageSize     int64
	role               Role
	skipUTF8Validation bool
	controlFrames      bool
	allowIllegalWrites bool
}

// settings returns the fields of cfg a Conn keeps.
func (cfg *Config) settings() settings {
	return settings{
		maskKey:            cfg.MaskKey,
		maxMessageSize:     cfg.MaxMessageSize,
		role:               cfg.Role,
		skipUTF8Validation: cfg.SkipUTF8Validation,
		controlFrames:      cfg.ControlFrames,
		allowIllegalWrites: cfg.AllowIllegalWrites,
	}
}

// DefaultWriteTimeout is the WriteTimeout of a Config that leaves it 0: a
// peer that takes none of a write for 30 seconds is not reading.
const DefaultWriteTimeout = 30 * time.Second

// writeTimeout returns the bound of the sends with no deadline:
// WriteTimeout, or DefaultWriteTimeout for zero; not positive means none
// (as for Dialer.HandshakeTimeout and Binder.Stall).
func (cfg *Config) writeTimeout() time.Duration {
	if cfg.WriteTimeout == 0 {
		return DefaultWriteTimeout
	}
	return cfg.WriteTimeout
}

// reader makes the frame reader of a Conn over t. The reader and the
// assembler below take the limits in the same convention as Config.
func (cfg *Config) reader(t io.Reader) *reader.Reader {
	size := cfg.ReadBufferSize
	if size <= 0 {
		size = DefaultReadBufferSize
	}
	rd := reader.NewSize(readSource(t), size)
	rd.MaxFrameSize = cfg.MaxFrameSize
	if cfg.MaxMessageSize > 0 {
		rd.WholeMax = cfg.MaxMessageSize // a longer frame fails at its header
	}
	rd.Policy = frame.Policy{SkipUTF8Validation: cfg.SkipUTF8Validation}
	rd.Server = cfg.Role == RoleServer
	return rd
}

// assembler makes the message assembler of a Conn.
func (cfg *Config) assembler() fragment.Assembler {
	return fragment.Assembler{
		MaxMessageSize:     cfg.MaxMessageSize,
		SkipUTF8Validation: cfg.SkipUTF8Validation,
		DeliverFragments:   cfg.DeliverFragments,
	}
}
