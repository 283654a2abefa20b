package bench

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"

	cws "github.com/coder/websocket"
	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/internal/deflate"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// This file holds what the compression benchmarks share: generated
// corpora, a permessage-deflate negotiation for the servers, the
// compressing clients and the server of the idle case.

// Corpora, generated deterministically so that no file is needed.

// vocabulary is what the text and JSON corpora draw words from.
var vocabulary = strings.Fields(`account active amount balance book channel client close
	connect count currency data delta depth event exchange feed filled frame guest heartbeat
	index info interval latency limit market member message order pending price quantity queue
	ready region request result room server session side signal snapshot source status stream
	subscribe symbol ticker time total trade update user value venue volume window`)

// corpus is a generator of n bytes of one kind of content.
type corpus struct {
	name string
	gen  func(n int) []byte
}

var corpora = []corpus{
	{"json", jsonEvents},
	{"text", prose},
	{"binary", telemetry},
}

// jsonEvents is a feed of JSON objects, one per line, as a trading or
// chat API pushes them: the same keys every time, changing values.
func jsonEvents(n int) []byte {
	r := rand.New(rand.NewPCG(11, 12))
	b := make([]byte, 0, n+256)
	for seq := 0; len(b) < n; seq++ {
		b = append(b, `{"event":"`...)
		b = append(b, vocabulary[r.IntN(8)]...)
		b = append(b, `","seq":`...)
		b = strconv.AppendInt(b, int64(seq+40000), 10)
		b = append(b, `,"symbol":"`...)
		b = append(b, strings.ToUpper(vocabulary[r.IntN(len(vocabulary))][:3])...)
		b = append(b, `-USD","price":`...)
		b = strconv.AppendFloat(b, 100+r.NormFloat64()*3, 'f', 4, 64)
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, int64(r.IntN(5000)), 10)
		b = append(b, `,"ts":`...)
		b = strconv.AppendInt(b, 1764700000000+int64(seq)*53+int64(r.IntN(50)), 10)
		b = append(b, `,"live":`...)
		b = strconv.AppendBool(b, r.IntN(3) > 0)
		b = append(b, "}\n"...)
	}
	return b[:n]
}

// prose is sentences of words drawn with a skewed distribution, as
// natural language has.
func prose(n int) []byte {
	r := rand.New(rand.NewPCG(21, 22))
	b := make([]byte, 0, n+64)
	for len(b) < n {
		words := 4 + r.IntN(14)
		for i := range words {
			w := vocabulary[int(r.ExpFloat64()*8)%len(vocabulary)]
			if i == 0 {
				b = append(b, w[0]-'a'+'A')
				w = w[1:]
			}
			b = append(b, w...)
			if i < words-1 {
				b = append(b, ' ')
			}
		}
		b = append(b, ". "...)
	}
	return b[:n]
}

// telemetry is fixed-size records of slowly changing little-endian
// counters, a flag byte and noise, as a sensor or game-state feed sends.
func telemetry(n int) []byte {
	r := rand.New(rand.NewPCG(31, 32))
	b := make([]byte, 0, n+16)
	var clock, pos uint32 = 90000, 1 << 16
	for len(b) < n {
		clock += 16 + uint32(r.IntN(3))
		pos += uint32(r.IntN(9)) - 4
		b = append(b, byte(clock), byte(clock>>8), byte(clock>>16), byte(clock>>24),
			byte(pos), byte(pos>>8), byte(pos>>16), 0, byte(r.IntN(4)), byte(r.Uint32()), byte(r.Uint32()), 0x7f)
	}
	return b[:n]
}

// Negotiation, as a server that compresses with context takeover answers.

// agreement is what a server agreed with a client.
type agreement struct {
	serverNoTakeover, clientNoTakeover bool
	serverBits                         int // the server's window: 8 to 15
	clientBits                         int // 15 unless the client limited it
}

func (a agreement) String() string {
	return fmt.Sprintf("server takeover %t (window %d), client takeover %t (window %d)",
		!a.serverNoTakeover, a.serverBits, !a.clientNoTakeover, a.clientBits)
}

// negotiateDeflate answers the first permessage-deflate offer among offers
// (the request's Sec-WebSocket-Extensions values) that it understands.
// It keeps context takeover both ways unless the offer turns it off,
// limits its own window to server_max_window_bits and echoes a
// client_max_window_bits value. ok is false when no offer fits.
func negotiateDeflate(offers []string) (answer string, a agreement, ok bool) {
	for _, field := range offers {
	offer:
		for el := range strings.SplitSeq(field, ",") {
			params := strings.Split(el, ";")
			if strings.TrimSpace(params[0]) != handshake.DeflateExtension {
				continue
			}
			a = agreement{serverBits: 15, clientBits: 15}
			answer = handshake.DeflateExtension
			for _, p := range params[1:] {
				name, value, hasValue := strings.Cut(strings.TrimSpace(p), "=")
				bits, err := strconv.Atoi(strings.Trim(value, `"`))
				if hasValue && (err != nil || bits < 8 || bits > 15) {
					continue offer
				}
				switch {
				case name == "server_no_context_takeover" && !hasValue:
					a.serverNoTakeover = true
				case name == "client_no_context_takeover" && !hasValue:
					a.clientNoTakeover = true
				case name == "server_max_window_bits" && hasValue:
					a.serverBits = bits
				case name == "client_max_window_bits":
					if !hasValue {
						continue
					}
					a.clientBits = bits
				default:
					continue offer
				}
				answer += "; " + strings.TrimSpace(p)
			}
			return answer, a, true
		}
	}
	return "", agreement{}, false
}

// compressMessages compresses msgs as a server sends them under a: each
// a raw DEFLATE stream ended by a sync flush without its 00 00 ff ff
// (RFC 7692 §7.2.1). With the full window it is compress/flate at
// BestSpeed, what gorilla, coder and gws servers send; with a smaller one
// (which compress/flate cannot do) it is framewire's compressor with that
// window.
func compressMessages(msgs [][]byte, a agreement) [][]byte {
	out := make([][]byte, len(msgs))
	if a.serverBits == 15 {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestSpeed)
		for i, m := range msgs {
			if a.serverNoTakeover {
				w.Reset(&buf)
			}
			w.Write(m)
			w.Flush()
			out[i] = bytes.Clone(buf.Bytes()[:buf.Len()-4])
			buf.Reset()
		}
		return out
	}
	c, err := deflate.NewCompressor(deflate.Config{WindowBits: a.serverBits})
	if err != nil {
		panic(err)
	}
	for i, m := range msgs {
		if a.serverNoTakeover {
			c.Reset()
		}
		p := c.Flush(c.Compress(nil, m))
		out[i] = p[:len(p)-4]
	}
	return out
}

// messageEnd ends a received message for compress/flate: the 00 00 ff ff
// the sender removed, then an empty final stored block.
var messageEnd = []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

// inflateMessage inflates one received message with history hist (nil:
// none), reading at most limit bytes.
func inflateMessage(p, hist []byte, limit int64) ([]byte, error) {
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(p), bytes.NewReader(messageEnd)), hist)
	return io.ReadAll(io.LimitReader(r, limit))
}

// Clients with compression turned on.

// compressLibrary is a client configured to compress, and what a server
// that compresses with context takeover should agree with it.
type compressLibrary struct {
	library
	takeover   bool // context takeover both ways, else neither way
	serverBits int  // the server's window the client asks for
}

// compressLibraries lists the compressing clients of the compression
// benchmarks: framewire per preset and without context takeover (pooled
// compressors), coder with and without context takeover, gws with and
// without, gorilla (which only offers no context takeover).
func compressLibraries() []compressLibrary {
	noTakeover := []handshake.DeflateParams{{
		ServerNoContextTakeover: true, ClientNoContextTakeover: true, ClientMaxWindowBits: handshake.AnyWindowBits,
	}}
	fw := func(name string, cp conn.Compression) library {
		return library{name: name, dial: func(ctx context.Context, url string, nd netDial) (client, error) {
			d := conn.Dialer{NetDial: nd}
			d.Config.Compression = &cp
			c, err := d.Dial(ctx, url)
			if err != nil {
				return nil, err
			}
			return &framewireClient{c: c, ctx: context.Background()}, nil
		}}
	}
	return []compressLibrary{
		{fw("framewire-small", conn.Compression{Preset: conn.CompressionSmall}), true, 10},
		{fw("framewire-default", conn.Compression{}), true, 15},
		{fw("framewire-best", conn.Compression{Preset: conn.CompressionBest}), true, 15},
		{fw("framewire-notakeover", conn.Compression{Offers: noTakeover}), false, 15},
		{library{name: "coder-takeover", dial: coderCompressing(cws.CompressionContextTakeover)}, true, 15},
		{library{name: "coder-notakeover", dial: coderCompressing(cws.CompressionNoContextTakeover)}, false, 15},
		{library{name: "gws-takeover", dial: gwsCompressing(true), reads: true}, true, 15},
		{library{name: "gws-notakeover", dial: gwsCompressing(false), reads: true}, false, 15},
		{library{name: "gorilla-notakeover", dial: gorillaCompressing}, false, 15},
	}
}

// agrees says whether a is what l should have agreed.
func (l compressLibrary) agrees(a agreement) bool {
	return a.serverNoTakeover == !l.takeover && a.clientNoTakeover == !l.takeover && a.serverBits == l.serverBits
}

func coderCompressing(mode cws.CompressionMode) func(context.Context, string, netDial) (client, error) {
	return func(ctx context.Context, url string, nd netDial) (client, error) {
		return dialCoderWith(ctx, url, nd, mode)
	}
}

func gwsCompressing(takeover bool) func(context.Context, string, netDial) (client, error) {
	return func(ctx context.Context, url string, nd netDial) (client, error) {
		return dialGwsWith(ctx, url, nd, gws.PermessageDeflate{
			Enabled: true, ServerContextTakeover: takeover, ClientContextTakeover: takeover,
		})
	}
}

func gorillaCompressing(ctx context.Context, url string, nd netDial) (client, error) {
	d := *gorilla.DefaultDialer
	d.NetDialContext = nd
	d.EnableCompression = true
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(maxMessage)
	return &gorillaClient{c: c}, nil
}

// dropBuffers lets go of the receive buffer this package's client
// wrapper keeps, so that an idle connection's memory is the library's.
func dropBuffers(c client) {
	switch c := c.(type) {
	case *framewireClient:
		c.buf = nil
	case *gorillaClient:
		c.buf = nil
	case *coderClient:
		c.buf = nil
	case *gwsClient:
		if c.owned != nil {
			c.owned.Close()
			c.owned = nil
		}
	}
}

// The server of the idle case.

// deflateSession is the holdSession of the compressed idle case: it
// agrees permessage-deflate (negotiateDeflate) or, with plainOK set,
// serves a client that offers none uncompressed; then, for each of the
// client messages it expects, reads the message, checks that it arrived
// compressed and answers with the server message of the same index,
// compressed as agreed; then the connection is held with nothing kept
// for it. With record set, it inflates what the client sent and keeps
// what it saw for the test to check.
type deflateSession struct {
	client, server [][]byte // the messages each side sends

	record  bool
	plainOK bool      // a client that offers no compression is served uncompressed
	buf     []byte    // reused for every client frame
	cur     agreement // of the connection being served
	agreed  bool

	mu          sync.Mutex
	compressed  map[agreement][][]byte // server messages per agreement
	plain       int                    // client messages that arrived uncompressed
	declined    int                    // connections that agreed no compression
	connections []sessionRecord        // with record set
}

// sessionRecord is what a deflateSession saw on one connection.
type sessionRecord struct {
	agreement  agreement
	rsv1       []bool   // per client message, on its first frame
	wire       []int    // per client message, its compressed size
	inflated   [][]byte // per client message, inflated with the agreed history
	standalone [][]byte // per client message, inflated without history (nil if that fails)
	err        error
}

func (s *deflateSession) answer(offers []string) string {
	answer, a, ok := negotiateDeflate(offers)
	s.cur, s.agreed = a, ok
	return answer
}

func (s *deflateSession) exchange(nc net.Conn) error {
	out := s.server
	s.mu.Lock()
	switch {
	case !s.agreed:
		s.declined++
		if !s.plainOK {
			s.mu.Unlock()
			return errDeclined // the connection is closed: the client's recv fails
		}
	case s.compressed[s.cur] == nil:
		if s.compressed == nil {
			s.compressed = map[agreement][][]byte{}
		}
		s.compressed[s.cur] = compressMessages(s.server, s.cur)
		fallthrough
	default:
		out = s.compressed[s.cur]
	}
	s.mu.Unlock()
	rec := sessionRecord{agreement: s.cur}
	var hist []byte
	for i := range s.client {
		p, rsv1, err := s.readMessage(nc)
		if err != nil {
			return err
		}
		if !rsv1 {
			s.mu.Lock()
			s.plain++
			s.mu.Unlock()
		}
		if s.record {
			rec.rsv1 = append(rec.rsv1, rsv1)
			rec.wire = append(rec.wire, len(p))
			msg := p
			if rsv1 {
				if s.cur.clientNoTakeover {
					hist = nil
				}
				msg, err = inflateMessage(p, hist, maxMessage)
				if err != nil && rec.err == nil {
					rec.err = fmt.Errorf("client message %d: %w", i, err)
				}
				alone, err := inflateMessage(p, nil, maxMessage)
				if err != nil {
					alone = nil
				}
				rec.standalone = append(rec.standalone, alone)
			} else {
				rec.standalone = append(rec.standalone, bytes.Clone(p))
			}
			rec.inflated = append(rec.inflated, bytes.Clone(msg))
			hist = append(hist, msg...)
		}
		h := ws.Header{Fin: true, Rsv: ws.Rsv(s.agreed, false, false), OpCode: ws.OpBinary, Length: int64(len(out[i]))}
		if err := ws.WriteHeader(nc, h); err != nil {
			return err
		}
		if _, err := nc.Write(out[i]); err != nil {
			return err
		}
	}
	if s.record {
		s.mu.Lock()
		s.connections = append(s.connections, rec)
		s.mu.Unlock()
	}
	return nil
}

var (
	errClientFrame = errors.New("bench: unexpected client frame")
	errDeclined    = errors.New("bench: the client offered no permessage-deflate the server accepts")
)

// readMessage reads a client data message and returns its payload
// (unmasked, in s.buf) and whether its first frame had RSV1 set.
func (s *deflateSession) readMessage(nc net.Conn) ([]byte, bool, error) {
	s.buf = s.buf[:0]
	var rsv1 bool
	for first := true; ; first = false {
		h, err := ws.ReadHeader(nc)
		if err != nil {
			return nil, false, err
		}
		if !h.Masked || h.OpCode.IsControl() || first == (h.OpCode == ws.OpContinuation) ||
			h.Length > maxMessage-int64(len(s.buf)) {
			return nil, false, fmt.Errorf("%w: %+v", errClientFrame, h)
		}
		if first {
			rsv1, _, _ = ws.RsvBits(h.Rsv)
		}
		// The buffer grows as the payload arrives, not from its length.
		n := len(s.buf)
		w := bytes.NewBuffer(s.buf)
		if _, err := w.ReadFrom(io.LimitReader(nc, h.Length)); err != nil {
			return nil, false, err
		}
		if s.buf = w.Bytes(); int64(len(s.buf)-n) != h.Length {
			return nil, false, io.ErrUnexpectedEOF
		}
		ws.Cipher(s.buf[n:], h.Mask, 0)
		if h.Fin {
			return s.buf, rsv1, nil
		}
	}
}
