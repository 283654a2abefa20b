// Package conn is a WebSocket connection (RFC 6455): dialling and the
// opening handshake (§4), sending frames (§5.3: masked by a client),
// receiving and reassembling messages (§5.4), control frames (§5.5) and
// the closing handshake (§7). It is websocket-client's WebSocket class and
// create_connection.
//
// A [Dialer] opens client connections over TCP or TLS. [New] makes a
// [Conn] of either [Role] over any [Transport] whose handshake is done:
// the server side of a test peer, an in-memory pipe, or a stream of
// another protocol. One [Config] holds what a connection is, apart from
// how it was dialed: its role, limits, UTF-8 policy, mask keys and trace.
//
// # Python to Go
//
//	websocket-client                         conn
//	create_connection(url, **options)        Dial(ctx, url) / (*Dialer).Dial(ctx, url)
//	connect(url, socket=s)                   (*Dialer).DialConn(ctx, s, url)
//	header=, cookie=, origin=, host=         Dialer.Header, Cookie, Origin, Host
//	suppress_origin=, subprotocols=          Dialer.SuppressOrigin, Subprotocols
//	redirect_limit=3                         Dialer.MaxRedirects (0 means 3, -1 none)
//	http_proxy_host/port/auth, proxy_type=   Dialer.Proxy = http.ProxyURL(u): u's scheme http, https, socks4(a), socks5(h)
//	http_no_proxy=                           Dialer.Proxy = proxy.Env{HTTPProxy: p, HTTPSProxy: p, NoProxy: hosts}.ProxyFunc()
//	sslopt=                                  Dialer.TLSConfig
//	sockopt=                                 Dialer.NetDial
//	timeout=                                 ctx and Dialer.HandshakeTimeout
//	fire_cont_frame=, skip_utf8_validation=  Config.DeliverFragments, Config.SkipUTF8Validation
//	set_mask_key(f)                          Config.MaskKey
//	enableTrace(True)                        Config.Trace, Config.Logger
//	send(data, opcode) / send_text / send_binary   WriteMessage(ctx, op, p)
//	send_frame(frame)                        WriteFrame
//	ping(p) / pong(p)                        Ping(ctx, p) / WriteFrame(ctx, frame.New(frame.OpPong, p))
//	recv()                                   ReadMessage
//	recv_data(control_frame)                 ReadDataFrame(ctx, buf) (Config.ControlFrames)
//	recv_data_frame(control_frame)           ReadDataFrame(ctx, buf) (Config.ControlFrames)
//	recv_frame()                             ReadFrame(ctx, buf)
//	(none: framewire's addition)             ReadMessages(ctx, ms, buf): a burst under one lock
//	close(status, reason, timeout=3)         Close(ctx, code, reason)
//	send_close(status, reason)               WriteFrame(ctx, frame.New(frame.OpClose, payload))
//	shutdown() / abort()                     CloseNow()
//	getstatus(), getheaders(), getsubprotocol()   StatusCode(), Header(), Subprotocol()
//
// # Transports and roles
//
// A Conn reads and writes a [Transport]: a net.Conn, or anything with
// Read, Write, Close and read and write deadlines. The deadlines are how a
// call's context interrupts a blocked read or write, and the Transport
// contract says what a stopped call leaves behind: a stopped read loses
// no byte, so every transport keeps the promise below that a stopped
// receive resumes where it was. What is specific to one transport lives
// in its adapter: the Dialer's TCP and TLS adapter resets TCP on
// [Conn.CloseNow] (SO_LINGER 0, under TLS too) and reports a TLS write
// timeout as broken, since crypto/tls cannot resume a write.
//
// With [Dialer.HTTP2] set, a Dialer opens the WebSocket in a stream of an
// HTTP/2 connection instead (RFC 8441's extended CONNECT), shared through
// an [HTTP2Pool] if one is given; the stream's adapter implements the
// deadlines, and [Conn.CloseNow] resets the stream rather than TCP.
// [Conn.Proto] tells which it is. docs/http2.md has the fallback rules and
// what differs.
//
// A client (RoleClient, the zero Role) masks every frame it sends with a
// fresh key and fails the connection on a masked frame; a server
// (RoleServer) sends unmasked frames and fails on unmasked ones (RFC 6455
// §5.1). Nothing else differs between the roles.
//
// # Concurrency
//
// A [Conn] may be used by one reader and any number of writers at the same
// time. Each sending call writes whole frames under a write lock, so frames
// of different goroutines never interleave, and neither do messages: a
// message sent in fragments with several WriteFrame calls may have control
// frames (a ping, a pong answering one) between its fragments, as RFC 6455
// §5.4 allows, but a call that begins another message waits until its final
// fragment, bounded by its context or [ReplyTimeout] ([ErrMessageOpen];
// see [Conn.WriteFrame]). [Conn.NextWriter] holds the write lock from the
// first fragment to the last.
// Receiving calls are serialised: a second reader waits for the first.
// That lock costs each call two atomic operations, as much as the rest of
// a small message's receive; [Conn.ReadMessages] pays them once for every
// message already whole in the read buffer, and a read loop that holds
// the receiving side ([Conn.Receiver]) once for all its calls. A
// receiving call never waits for the write lock to answer a ping: the
// goroutine holding it writes the pong after its frame (see Answering the
// peer below).
// [Conn.CloseNow] and [Conn.Close] may be called from any goroutine (but
// the holder of a Receiver releases it before its own Close).
//
// A Conn starts no goroutine (but see the note on context types under
// Cancellation and timeouts, a sender's context ending while it writes
// others' queued frames, below, and a NetConn Write stopped in the middle
// of a message, see [NetConn]) and, between calls, holds no read or write
// buffer: they are lent from pools for the duration of a call. A sending
// call encodes its frame into a lent buffer and writes it with one system
// call; a frame longer than the buffer (32 KiB) goes out from a larger
// one, masked as it is copied, one system call each time it fills. Over a
// TCP connection on Linux (TLS over it included), where the watchdog of
// Config.WriteTimeout sees the peer take bytes during a system call, or
// with no WriteTimeout, that buffer is of 64, 128 or 256 KiB plus a
// header's room, the smallest that holds the frame: a frame of up to
// 256 KiB leaves in one system call, a longer one in pieces of 256 KiB
// (262,158 bytes). Over other transports each system call must end
// within WriteTimeout, and the pieces are of 32 KiB (32,782 bytes). The
// trace's copy of a received payload is kept between frames only when it
// is small (64 KiB at most).
//
// A receiving call waiting for the next message over a TCP or Unix socket
// holds no buffer: it waits near the top of its stack for the socket to
// become readable. A goroutine whose only deeper frames are its own small
// ones keeps the 2 KiB stack it started with while it waits. A
// goroutine's stack grows to fit its deepest call and stays grown while
// it waits, so one that dialled first (connect, TLS and the opening
// handshake go deep) waits with 4 KiB, in any Go client: with many
// connections, read each one in a goroutine started after its dial
// (bench/ BenchmarkIdleConn, rows waiting and dialer-waiting).
//
// Writes are coalesced. A sender that finds the write lock held does not
// wait: it copies its frame, masked with a fresh key, into the Conn's send
// queue and returns at once, the frame accepted but not yet written (nil,
// unless the connection had failed, or the holder let go meanwhile and
// the sender wrote the queue itself: then that write's result).
// The holder of the lock writes its own frame and then the frames queued
// meanwhile, in their order, with one system call (writev) per round, so
// that many senders cost about one system call, not one each (a holder
// whose context has ended returns after the round under way, leaving the
// rest to a goroutine that ends with it). A lone
// sender, which finds the lock free, writes its own frame at once and
// returns that write's result. A write of queued frames that fails fails
// the connection, and the next call reports it; [Conn.Flush] waits until
// the frames accepted are written and returns that result. The queue is
// bounded by [DefaultSendQueueLimit] (16 MiB, frames being written
// included; [Conn.Buffered] reports what it holds): a sender whose frame would pass it waits for its own
// turn to write, bounded by its context, which is the backpressure. These
// never queue and wait for the lock instead: close frames, frames a
// negotiated extension encodes, frames of a Config with MaskKey,
// [Conn.WriteMessages], [Conn.NextWriter], a [NetConn]'s Write (which
// must honour its deadline), a message begun while another sent in
// fragments is open, and senders that come while the holder drains its
// last round.
// [Conn.WriteMessages] sends a burst of messages from one goroutine in one
// write, and a [PreparedMessage] is checked once and sent to many Conns
// with [Conn.WritePrepared]. Queueing allocates nothing once the queue's
// buffers are in the pool.
//
// # Streams
//
// [Conn.NextReader] returns a message as an io.Reader and
// [Conn.NextWriter] as an io.WriteCloser: fragments pass through a
// bounded buffer, never joined, with the checks and the control frames of
// the other calls, so a message of any length is sent or received in
// constant memory. [NetConn] makes a net.Conn of a Conn's binary
// messages: a byte stream across message boundaries, with net.Conn's
// deadlines, for protocols written for sockets.
//
// # Cancellation and timeouts
//
// Every blocking call takes a context. Its deadline becomes the socket's
// deadline and its cancellation sets a deadline in the past (through
// context.AfterFunc: no goroutine waits for the context; one runs briefly
// when it ends). A call stopped this way returns
// a [*TimeoutError] that matches both the context's error
// (context.DeadlineExceeded or context.Canceled) and the socket's error
// (os.ErrDeadlineExceeded):
//
//   - A stopped read leaves the connection usable: the next receiving call
//     of the same kind resumes exactly where the stopped one was, in the
//     middle of a header, a payload or a fragmented message, with no byte
//     lost (a call of another kind may refuse to take over: see
//     [ErrMixedRead]).
//   - A stopped write that had not written any byte leaves the connection
//     usable too, and so does one stopped in the middle of frames that lie
//     whole in the write buffer, which are never split across system
//     calls: every frame of up to 32 KiB, and, where large frames leave
//     from buffers of up to 256 KiB (see Concurrency above), every frame of up
//     to 256 KiB and the last piece of a longer one. Their rest is kept
//     and goes out first with the next write ([TimeoutError] Kept). One
//     stopped in the middle of another frame cannot be resumed
//     without corrupting the stream: the [*TimeoutError] has Broken set and
//     matches [ErrBroken], and the connection is closed (under TLS
//     without a close_notify alert, which the peer would read as the end
//     of the cut record). Over TLS every write timeout is fatal, as
//     crypto/tls cannot resume a write.
//   - A call waiting for the lock held by another goroutine gives up when
//     its context ends, having done nothing. A sender whose frame was
//     queued (see Concurrency) has already returned: the frame goes out
//     with the holder's writes, whatever the sender's context. So a
//     sending call that takes such frames from the queue, at the moment
//     the write passes from one goroutine to another, writes them first
//     on their own, bounded as queued frames are (WriteTimeout below),
//     and only its own frame by its context: against a stalled peer it
//     can return after its context ended. Close and a NetConn's Write
//     keep their deadlines: one that stops such frames fails the
//     connection.
//
// A send whose context has no deadline is still bounded:
// [Config.WriteTimeout] (30 seconds unless set) is how long the peer may
// leave it waiting without taking a byte. A peer that takes none for so
// long is not reading, and the connection fails with [ErrWriteTimeout];
// a peer that reads slowly but steadily is never cut, however long the
// message takes (over TCP on Linux, bytes its TCP acknowledges count,
// even while the kernel keeps a write blocked). Receiving calls wait for the peer's
// next message as long as their context lets them: an idle connection
// is no fault (pings find a dead peer: see the app package's
// PingInterval and PingTimeout).
//
// A context that can never end (context.Background()) costs nothing. One
// that can is registered once and stays registered between calls: a
// reader or writer that passes the same context (or a context.WithValue
// of it) call after call allocates nothing; a context's deadline is set on
// the socket for each call. A call with another context, and the end of
// the connection, undo what the last one left; the binding refers to the
// Conn weakly, so not even an unclosed Conn is kept alive by a long-lived
// context, though the registrations themselves (about 460 bytes for a Conn
// that sent and received) stay with that context until it ends: close
// every Conn. A context of a type outside the context package that does not
// derive from one of its contexts makes context.AfterFunc start a
// goroutine waiting on it; with such a context that goroutine stays
// between calls, until a call with another context or the end of the
// connection or of the context.
//
// # Errors
//
//	websocket-client                    Go (errors.Is / errors.As)
//	WebSocketProtocolException          frame.ErrProtocol; *frame.Error with Code 1002
//	WebSocketPayloadException           frame.ErrInvalidPayload (1007); frame.ErrTooBig (1009)
//	WebSocketConnectionClosedException  net.ErrClosed: ErrClosed, *status.CloseError, ErrConnectionLost
//	WebSocketTimeoutException           *TimeoutError: context.DeadlineExceeded, os.ErrDeadlineExceeded
//	WebSocketProxyException             *proxy.Error (proxy.ErrRefused, proxy.ErrAuth, ...)
//	WebSocketBadStatusException         *handshake.StatusError (status, headers, body; Response())
//	WebSocketAddressException           ErrAddress (wraps *net.DNSError)
//	"Invalid WebSocket Header"          handshake.ErrHandshake (ErrBadAccept, ErrBadSubprotocol, ...)
//	ValueError (bad URL)                *handshake.URLError, handshake.ErrInvalidURL
//	ValueError (bad close code)         status.ErrInvalidCode, status.ErrReasonTooLong
//	redirect limit (silently 30x)       ErrTooManyRedirects wrapping *handshake.RedirectError
//
// A protocol violation by the server fails the connection (RFC 6455
// §7.1.7): the receiving call sends a close frame with the matching code
// (1002, 1007 for invalid UTF-8, 1009 for a frame or message over its
// limit), closes the socket and returns the error. Once the connection has
// ended, in any way (a failure, the peer's close, a lost connection,
// Close, CloseNow), every call returns an error matching
// [ErrClosed] and net.ErrClosed that also wraps the cause:
// [ErrConnectionLost], a *[status.CloseError], a *[frame.Error],
// [ErrReplyTimeout] or a broken write's [*TimeoutError]. That error is
// never a timeout to retry: as a net.Error, its Timeout and Temporary
// report false. A send that fails because the peer reset the connection
// returns an error matching [ErrConnectionLost] and ends sending only:
// the next receiving call returns what the peer sent before, typically
// its close frame saying why (a *[status.CloseError] with 1009 for a
// message over its limit, say), and then the connection ends.
//
// # Answering the peer
//
// A receiving call owes the peer three kinds of frames: the pong answering
// a ping, the close frame answering the peer's, and the close frame that
// fails the connection. Each is written within [ReplyTimeout] (5 seconds)
// on a deadline of its own: the call's context never cuts such a frame in
// the middle, so no half frame is ever left on the wire.
//
//   - A ping is answered at once when the write lock is free. When another
//     goroutine's send holds it, the receiving call does not wait: it
//     leaves the pong to that goroutine, which writes it after its frame,
//     before it releases the lock, and reads on. A send that takes long
//     (a large message on a slow link) thus delays the pong but neither
//     stalls the reader nor ends the connection. Only the latest ping is
//     answered when several arrive meanwhile (RFC 6455 §5.5.3).
//   - A call whose context ends while it writes a pong finishes the pong,
//     then returns a [*TimeoutError]; the connection stays usable.
//   - A pong that cannot be written within ReplyTimeout means the peer is
//     not reading: the connection fails with an error matching
//     [ErrReplyTimeout] and the socket is closed at once. A peer that
//     floods pings and reads nothing thus ends the connection. When a
//     sending call wrote that pong, its own frame was sent and it returns
//     nil; the receiving call reports the failure.
//   - A close frame waits for the write lock, and is written, within
//     ReplyTimeout together; one that cannot be is given up, and the
//     socket is closed. Over TCP the Conn then half-closes and drops what
//     the peer still sends (at most 64 KiB) until the peer ends its side,
//     within the same ReplyTimeout, so that the socket closes with a FIN
//     and not a reset, which could make the peer lose the close frame.
//
// # Tracing
//
// Config.Trace and Config.Logger are websocket-client's enableTrace, in two
// forms. Either, both or neither may be set.
//
// Trace, an io.Writer, gets websocket-client's text (the wsdump
// command's -vv output; docs/python-migration.md lists where it differs:
// credentials redacted, response fields sorted and their names in
// canonical form, received frames as they came): the request head and
// the response's status line and header fields between "--- request header ---" and
// "--- response header ---" banners (through an HTTP or HTTPS proxy, the
// CONNECT request and the proxy's answers come first, in the same form),
// then two lines per frame sent or
// received, its wire bytes and websocket-client's str() of it, both with
// Python bytes literals:
//
//	++Sent raw: b'\x81\x82abcd\x18\r'
//	++Sent decoded: fin=1 opcode=1 data=b'yo'
//
// Each event is one Write, made under a lock. Of a payload over 16 KiB,
// both lines show the first 16 KiB, then "... and N more payload bytes,
// not shown": whatever a peer sends, a frame costs the trace a bounded
// amount of memory. For this text the reader keeps a copy of the part of
// each received payload that it shows.
//
// Logger, a *slog.Logger, gets one structured record per event at
// slog.LevelDebug, with a constant message and typed attributes:
//
//	"ws handshake request"   method, url (the password, if any, as xxxxx), header
//	                         (CONNECT and the proxy's URL for an HTTP proxy's tunnel)
//	"ws handshake response"  status (int), header
//	"ws frame sent"          dir ("sent"), opcode, fin, rsv, len, masked
//	"ws frame received"      dir ("received"), opcode, fin, rsv, len, masked
//
// header is a group with one string per field, its values joined by ", ".
// opcode is the opcode's name ([frame.Opcode.String]); rsv is the three
// RSV bits as a number, RSV1 the high bit (4), as they sit in the first
// byte; len is the payload length the header declares. Payloads are never
// logged: they may be large or secret, and Trace shows them. When the
// logger's handler is not enabled for debug records (its Enabled method is
// consulted for every event, so a level may change during a connection),
// no attribute is built and a frame costs no allocation.
//
// In both forms the values of Authorization, Proxy-Authorization, Cookie
// and Set-Cookie are replaced by ***.
//
// # Compression
//
// Set [Config.Compression] (for a dial, Dialer.Config.Compression) to a
// *[Compression] to use permessage-deflate (RFC 7692), as the Compression
// example shows. The Dialer offers it (Compression.Offers, or the preset's), parses the
// answer strictly with handshake.ParseDeflateAnswer and, if the server
// agreed, compresses messages of at least Compression.Threshold bytes
// sent with WriteMessage (WriteFrame and control frames never) and
// inflates those received with RSV1 set. A server that declines leaves
// the connection uncompressed. [Conn.Compression] returns what was
// agreed, which the trace also shows. [New] takes the agreement in
// Compression.Agreed, for the server role or a handshake made elsewhere.
//
// Inflated bytes count against MaxMessageSize as they are produced, so a
// small message that would inflate to gigabytes fails the connection with
// 1009 once it passes the limit; the compressed size of a message, the
// sum of its frames, is held to the same limit. Data that does not
// inflate fails it with 1007. A receiving call that times out in the
// middle of a compressed message resumes, like any other, at the next
// call. ReadFrame returns frames as they arrived, compressed; with context
// takeover the Conn inflates them too, dropping the output, so that the
// messages after them inflate whichever call reads them. A send that fails
// after its message was compressed makes the compressor forget its
// history, so that no later message refers to bytes the peer may lack.
// docs/compression.md gives the memory and speed of each preset.
//
// # Differences from websocket-client
//
//   - A peer's close is answered by echoing its status code (RFC 6455
//     §5.5.1), not with 1000, and the socket is then closed; sends after
//     it fail with ErrClosed instead of reaching the wire.
//   - Protocol errors fail the connection with a close frame (1002, 1007,
//     1009) before returning; websocket-client raises without closing.
//   - Strict receiving: masked server frames, fragmented or oversized
//     control frames, non-minimal lengths, reserved bits and opcodes are
//     errors; UTF-8 is checked as bytes arrive; frames are limited to
//     16 MiB and messages to 32 MiB by default (MaxFrameSize,
//     MaxMessageSize).
//   - Strict sending: WriteFrame refuses reserved bits and opcodes, control
//     frames over 125 bytes or not final, and invalid close codes (unless
//     Config.AllowIllegalWrites); WriteMessage refuses text that is not
//     UTF-8; Close checks the code and the reason's length. WriteMessage
//     returns an error, not the number of bytes sent.
//   - Received payloads belong to the caller: ReadMessage returns a new
//     slice; ReadDataFrame and ReadFrame append to the caller's buffer,
//     or, given an empty one with room, trade it for the Conn's, whose
//     array the payload comes back in (see [Conn.ReadDataFrame]: the
//     array given is the Conn's then). websocket-client returns new bytes
//     every time.
//   - Redirects: relative Location values are resolved; running out of
//     MaxRedirects is the error ErrTooManyRedirects, not a "connected"
//     socket with status 30x; on a redirect to another origin (RFC 6454:
//     another scheme, host or port, so another port of the same host and
//     wss to ws count too), credentials, cookies from the Cookie option and
//     the Host override are dropped; websocket-client re-sends them to
//     any Location. A redirect from wss to ws fails the dial with
//     ErrInsecureRedirect unless Dialer.AllowInsecureRedirect is set.
//   - Dials are bounded by default: Dialer.HandshakeTimeout zero means
//     DefaultHandshakeTimeout (30 s), where websocket-client without
//     timeout= waits as long as the server takes. So are sends:
//     Config.WriteTimeout zero means DefaultWriteTimeout (30 s), where
//     websocket-client's send blocks while the peer reads nothing. A 101
//     answer in HTTP/1.0 is refused (handshake.ErrBadVersion).
//   - Extensions: permessage-deflate (RFC 7692) is implemented and off by
//     default: see Compression above. permessage-deflate offered through
//     Dialer.Header fails the dial before it starts, with
//     ErrExtensionHeader; any other extension accepted by the server fails
//     the dial with an error matching handshake.ErrBadExtension, rather
//     than the first frame with an RSV bit failing the connection.
//   - Cookies: no process-wide jar; Dialer.Jar is any http.CookieJar and
//     is consulted and fed per URL (domain, path, expiry and Secure are
//     the jar's business).
//   - URL user information is sent as Basic Authorization.
//   - Subprotocol() returns the server's choice spelled as offered (the
//     comparison is exact); websocket-client lower-cases it.
//   - The trace shows the frames' real wire bytes ("++Rcv raw" is the
//     received frame, not a re-masked copy) and redacts Authorization,
//     Proxy-Authorization, Cookie and Set-Cookie values; the response
//     header lines are printed in the order of their names.
//   - TLS offers ALPN "http/1.1" only (unless Dialer.HTTP2 asks for
//     "h2"), so a configuration shared with an HTTP/2 client cannot break
//     the upgrade; ServerName defaults to the Host override's name.
//   - Environment proxies follow Go's rules (golang.org/x/net/http/httpproxy):
//     ALL_PROXY is honoured, and localhost and loopback addresses are never
//     proxied.
//   - CloseNow, websocket-client's shutdown() and abort() in one, resets
//     the TCP connection (SO_LINGER 0), under TLS too (without a
//     close_notify alert), and ends the Conn.
package conn
