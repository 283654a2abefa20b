package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// h2IdleTimeout closes an HTTP/2 connection of a pool that has carried no
// WebSocket for this long: net/http's IdleConnTimeout default.
const h2IdleTimeout = 90 * time.Second

// ErrPoolClosed reports a dial through an [HTTP2Pool] that was closed.
var ErrPoolClosed = errors.New("conn: HTTP2Pool closed")

// HTTP2Pool holds HTTP/2 connections that WebSockets share (see
// [Dialer.HTTP2Pool]): one per origin, that is per scheme, host and port,
// proxy and TLS server name, as long as the server's
// SETTINGS_MAX_CONCURRENT_STREAMS allows another stream; when every
// connection is full, a dial opens another. A connection that closes or
// receives GOAWAY leaves the pool; one that carries no WebSocket for 90
// seconds is closed. Dialers share a connection only when their TLSConfig
// is the same *tls.Config (or both nil) and, through a proxy, when they
// send the proxy the same ProxyHeader (its credentials among them). A
// NetDial function cannot be compared: give Dialers that connect in
// different ways pools of their own.
//
// The zero HTTP2Pool is ready to use. It is safe for concurrent use. It
// starts no goroutine of its own; each HTTP/2 connection has its reader.
type HTTP2Pool struct {
	mu     sync.Mutex
	conns  map[h2Key][]*h2Conn
	closed bool
}

// h2Key is what an HTTP/2 connection can be shared for.
type h2Key struct {
	secure     bool
	addr       string // host:port
	proxy      string // proxy URL, or ""
	proxyHdr   string // the Dialer's ProxyHeader, in a canonical form (proxyHeaderKey)
	serverName string // TLS server name, for wss
	// tls is the Dialer's TLS configuration: Dialers whose
	// configurations differ (roots, client certificates, verification)
	// do not share a connection. Compared by identity.
	tls *tls.Config
}

// h2Conn is an HTTP/2 connection and the WebSockets it carries.
type h2Conn struct {
	pool *HTTP2Pool // nil: the connection of one WebSocket
	key  h2Key
	cc   *h2Client
	nc   net.Conn

	// Under pool.mu for a pooled connection:
	h1      bool          // no connection: TLS's ALPN chose HTTP/1.1 for key (see conn)
	streams int           // WebSockets opened or opening on cc
	idle    *time.Timer   // closes cc after h2IdleTimeout without a WebSocket
	ready   chan struct{} // closed once cc is open, or failed: its SETTINGS are known
}

// Close closes the pool's idle HTTP/2 connections; each connection in use
// closes when its last WebSocket ends. Later dials through the pool fail
// with [ErrPoolClosed].
func (p *HTTP2Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	var idle []*h2Conn
	for key, list := range p.conns {
		list = slices.DeleteFunc(list, func(hc *h2Conn) bool {
			if hc.streams == 0 && (hc.cc != nil || hc.h1) {
				idle = append(idle, hc)
				return true
			}
			return false
		})
		p.conns[key] = list
	}
	p.mu.Unlock()
	for _, hc := range idle {
		if hc.idle != nil {
			hc.idle.Stop()
		}
		if hc.cc != nil {
			hc.cc.close()
		}
	}
	return nil
}

// errH1 is reserve's answer for an origin whose ALPN chose HTTP/1.1 lately:
// the dial is made as without a pool.
var errH1 = errors.New("conn: origin answered ALPN with http/1.1")

// conn returns an HTTP/2 connection for key with a stream reserved, from p
// or newly opened by dial; a nil p always dials. dial returns the HTTP/2
// connection and the network connection under it, or only a network
// connection when TLS's ALPN chose HTTP/1.1, which conn then returns.
func (p *HTTP2Pool) conn(ctx context.Context, key h2Key, dial func(context.Context) (*h2Client, net.Conn, error)) (*h2Conn, net.Conn, error) {
	if p == nil {
		cc, nc, err := dial(ctx)
		if err != nil || cc == nil {
			return nil, nc, err
		}
		cc.solo.Store(true)
		return &h2Conn{key: key, cc: cc, nc: nc}, nil, nil
	}
	hc, err := p.reserve(ctx, key)
	if err == errH1 {
		// Nothing to share, and nothing to wait for: each dial has a
		// connection of its own, as without a pool. One that finds the
		// server speaking HTTP/2 again lets later dials share.
		hc, nc, err := (*HTTP2Pool)(nil).conn(ctx, key, dial)
		if hc != nil {
			p.mu.Lock()
			p.forgetH1(key)
			p.mu.Unlock()
		}
		return hc, nc, err
	}
	if hc != nil || err != nil {
		return hc, nil, err
	}
	hc = &h2Conn{pool: p, key: key, streams: 1, ready: make(chan struct{})}
	if p.conns == nil {
		p.conns = make(map[h2Key][]*h2Conn)
	}
	p.conns[key] = append(p.conns[key], hc)
	p.mu.Unlock()
	cc, nc, err := dial(ctx)
	p.mu.Lock()
	if err != nil || cc == nil {
		if err == nil && nc != nil {
			// ALPN chose HTTP/1.1: hc stays as a mark, for
			// h2IdleTimeout, so that the dials waiting for it, and
			// those that follow, do not wait their turn to learn it
			// one by one.
			hc.h1, hc.streams = true, 0
			hc.idle = time.AfterFunc(h2IdleTimeout, func() { p.closeIdle(hc) })
		} else {
			p.remove(hc)
		}
		close(hc.ready)
		p.mu.Unlock()
		return nil, nc, err
	}
	hc.cc, hc.nc = cc, nc
	close(hc.ready)
	p.mu.Unlock()
	return hc, nil, nil
}

// reserve finds a connection for key with room for one more stream and
// reserves it. It returns none, with p.mu held, when a new one must be
// opened; otherwise p.mu is released. It waits for a connection still
// opening to learn its limit.
func (p *HTTP2Pool) reserve(ctx context.Context, key h2Key) (*h2Conn, error) {
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		var wait chan struct{}
		for _, hc := range slices.Clone(p.conns[key]) {
			if !isDone(hc.ready) {
				wait = hc.ready
				continue
			}
			if hc.h1 {
				p.mu.Unlock()
				return nil, errH1
			}
			if !hc.cc.canTake() {
				if hc.streams == 0 {
					p.remove(hc)
					hc.cc.close()
				}
				continue
			}
			if uint64(hc.streams) < uint64(hc.cc.streamLimit()) {
				hc.streams++
				if hc.idle != nil {
					hc.idle.Stop()
				}
				p.mu.Unlock()
				return hc, nil
			}
		}
		if wait == nil {
			return nil, nil
		}
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, dialError(ctx, ctx.Err())
		}
		p.mu.Lock()
	}
}

// remove drops hc from the pool; p.mu is held. Its idle timer, if any, is
// stopped, so that nothing holds a connection that left the pool.
func (p *HTTP2Pool) remove(hc *h2Conn) {
	if hc.idle != nil {
		hc.idle.Stop()
	}
	p.conns[hc.key] = slices.DeleteFunc(p.conns[hc.key], func(x *h2Conn) bool { return x == hc })
	if len(p.conns[hc.key]) == 0 {
		delete(p.conns, hc.key)
	}
}

// release gives back the stream of a WebSocket that ended. A connection
// of its own closes; a pooled one closes once unused if the pool is
// closed or the connection can take no more streams.
func (hc *h2Conn) release() {
	p := hc.pool
	if p == nil {
		hc.cc.close()
		return
	}
	p.mu.Lock()
	hc.streams--
	drop := hc.streams == 0 && (p.closed || !hc.cc.canTake())
	if drop {
		p.remove(hc)
	} else if hc.streams == 0 {
		if hc.idle == nil {
			hc.idle = time.AfterFunc(h2IdleTimeout, func() { p.closeIdle(hc) })
		} else {
			hc.idle.Reset(h2IdleTimeout)
		}
	}
	p.mu.Unlock()
	if drop {
		hc.cc.close()
	}
}

// closeIdle closes hc if it still carries no WebSocket, or forgets it if
// it is the mark of an HTTP/1.1 origin.
func (p *HTTP2Pool) closeIdle(hc *h2Conn) {
	p.mu.Lock()
	idle := hc.streams == 0
	if idle {
		p.remove(hc)
	}
	p.mu.Unlock()
	if idle && hc.cc != nil {
		hc.cc.close()
	}
}

// forgetH1 drops the marks of key's origin as an HTTP/1.1 one; p.mu is
// held.
func (p *HTTP2Pool) forgetH1(key h2Key) {
	for _, hc := range slices.Clone(p.conns[key]) {
		if hc.h1 {
			p.remove(hc)
		}
	}
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// proxyHeaderKey writes h in a canonical form, names in canonical case
// and in order, so that Dialers sending a proxy different header fields
// (credentials in Proxy-Authorization) never share a tunnel, while equal
// ones do.
func proxyHeaderKey(h http.Header) string {
	if len(h) == 0 {
		return ""
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		return strings.Compare(http.CanonicalHeaderKey(a), http.CanonicalHeaderKey(b))
	})
	var b strings.Builder
	for _, k := range names {
		for _, v := range h[k] {
			// Neither a name nor a value sent may hold a NUL.
			b.WriteString(http.CanonicalHeaderKey(k))
			b.WriteByte(0)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	return b.String()
}
