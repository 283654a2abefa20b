package conn

import "net"

// Socket returns the connection's socket, for tests that inspect it.
func Socket(c *Conn) net.Conn {
	if t, ok := c.t.(*tcpTransport); ok {
		return t.tcp()
	}
	return c.t.(*netTransport).Conn
}

// TraceBufferCap returns the capacity of the payload copy kept for the
// trace between frames.
func TraceBufferCap(c *Conn) int { return cap(c.tpay) }

// ReceiveBufferCaps returns the capacities of the buffers a Conn keeps
// for ReadFrame's frames and for messages.
func ReceiveBufferCaps(c *Conn) (frame, message int) { return cap(c.fbuf), cap(c.msg.Payload) }

// RaceEnabled reports a build with the race detector, for the external tests.
const RaceEnabled = raceEnabled

// SetSendQueueLimit sets the bound of the bytes of frames queued by
// waiting senders (DefaultSendQueueLimit when zero).
func SetSendQueueLimit(c *Conn, n int) { c.q.chunks().limit = n }

// Acked returns what the watchdog of Config.WriteTimeout reads as the
// peer's progress besides the Writes begun: the bytes its TCP
// acknowledged.
func Acked(c *Conn) (int64, bool) { return progress(c.t) }

// SetResolver makes d look names up with r when NetDial and the proxy are
// not set.
func SetResolver(d *Dialer, r *net.Resolver) { d.resolver = r }
