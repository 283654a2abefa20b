// Package handshake implements the WebSocket opening handshake (RFC 6455
// §4): WebSocket URLs, the HTTP/1.1 Upgrade request, validation of the
// server's answer, and the server's side of the exchange. It is
// websocket-client's _url.py and _handshake.py.
//
// The package is bytes in, bytes out: it does not dial the server, set
// deadlines or follow redirects; the conn package does, with the pieces
// below, and package proxy opens tunnels through proxies.
//
// # URLs (RFC 6455 §3)
//
// [ParseURL] accepts ws and wss URLs (and http and https as aliases),
// refuses fragments, and returns a canonical [*url.URL]. [Addr] gives the
// address to dial with the default port filled in, [IsSecure] tells
// whether TLS is needed, and [SameHost] whether a redirect stays on the
// same host. Errors are [*URLError] values wrapping [ErrInvalidURL].
//
// # Request (RFC 6455 §4.1)
//
// [NewKey] makes a Sec-WebSocket-Key and [AcceptKey] computes the matching
// Sec-WebSocket-Accept (RFC 6455 §1.3, §4.2.2). A [Request] describes the
// upgrade request; [Request.AppendBinary] and [Request.Write] produce it
// in websocket-client's field order, with the caller's extra fields sorted
// by name, and refuse any name or value that could inject a line
// ([ErrInvalidHeader]).
//
// # Response (RFC 6455 §4.1, §4.2.2)
//
// [ReadResponse] reads the answer from a [bufio.Reader] that the caller
// keeps for the frames that follow. The header section is bounded
// ([Request.MaxHeaderBytes], [ErrHeaderTooLarge]). A 101 answer is
// validated strictly; each failure has its own error, all wrapping
// [ErrHandshake]: [ErrBadVersion] (a 101 in HTTP/1.0), [ErrBadUpgrade],
// [ErrBadConnection], [ErrBadAccept], [ErrBadSubprotocol],
// [ErrBadExtension]. A redirect gives a
// [*RedirectError] with the resolved Location; any other status gives a
// [*StatusError] with a bounded copy of the body. Both wrap
// [ErrBadStatus]. [ReadResponseFields] does the same and gives the header
// as a list of fields instead of a map, for a client that keeps it so.
//
// # permessage-deflate negotiation (RFC 7692 §5, §7)
//
// A [DeflateParams] value holds the four parameters of permessage-deflate.
// Zero means absent: no parameter, context takeover, a 15-bit window.
// [AnyWindowBits] offers client_max_window_bits without a value. [DeflateOffer]
// turns one or more offers, most preferred first, into elements for
// [Request.Extensions]; a window size outside 8-15 fails with
// [ErrInvalidOffer].
//
// [ParseDeflateAnswer] checks the server's answer ([Response.Extensions])
// strictly against the offers and returns what both sides must honour. An
// answer without permessage-deflate is a decline, not an error: the
// connection is uncompressed. Each failure is an [*ExtensionError] naming
// the parameter, its value and the reason, wrapping [ErrBadExtension]:
// permessage-deflate answered twice or not offered; a parameter unknown or
// repeated; a value on *_no_context_takeover; no value on
// *_max_window_bits; a window size that is not 8 to 15 without leading
// zeros (a quoted-string value is unquoted first); or an answer that no
// offer allows: server_no_context_takeover or server_max_window_bits
// offered but not answered, server_max_window_bits larger than offered,
// client_max_window_bits not offered or larger than offered. The first
// offer the answer satisfies is the one accepted; what it promised for the
// client (client_no_context_takeover, client_max_window_bits with a value)
// holds in the result even when the server does not repeat it.
//
// A server reads the offers of a request with [ParseDeflateOffers], which
// keeps the valid ones in order and reports the others.
//
// # Server side (RFC 6455 §4.2)
//
// [ReadRequest] reads a client's request from a [bufio.Reader], bounded
// like ReadResponse, and parses it with net/http. [CheckRequest] checks it
// as a server must (§4.2.1) and returns its key; each failure is a
// [*RequestError] wrapping [ErrBadRequest] that names the status to
// answer. [AppendUpgrade] appends the 101 response that accepts it and
// [AppendRefusal] the one that refuses it. Package wstest's test server
// is built on them.
//
// # Differences from websocket-client
//
// These are deliberate:
//
//   - A URL with a fragment is refused (RFC 6455 §3); websocket-client drops
//     the fragment. The scheme is case-insensitive and http/https are
//     accepted as ws/wss; websocket-client accepts only lower-case ws and wss.
//   - The Host and Origin headers leave out only the scheme's default port;
//     websocket-client leaves out 80 and 443 whatever the scheme, so
//     ws://h:443 was sent as "Host: h".
//   - Header names and values are checked: CR, LF, NUL and other control
//     bytes, or a name that is not a token, are refused. websocket-client
//     sends them as given.
//   - Extra request fields come from an [http.Header] and are sent sorted by
//     name. An entry named like a built-in field (Sec-WebSocket-Key,
//     Sec-WebSocket-Version, Connection, Origin, Host, Cookie...) replaces
//     it in place instead of being appended; websocket-client's connection
//     option appends a whole raw line. Request.Key must be a valid 16-byte
//     key; a key given as a header field is sent as is.
//   - Sec-WebSocket-Extensions can be offered, and the answer is checked: an
//     extension the client did not offer, or one named twice, fails, and
//     permessage-deflate's parameters are checked by [ParseDeflateAnswer].
//     The answer is not checked by websocket-client, which never offers any.
//   - Sec-WebSocket-Accept is compared exactly, case included;
//     websocket-client lower-cases both sides.
//   - The selected subprotocol must match an offered one exactly, case
//     included (RFC 7936), and is returned as offered; websocket-client
//     compares without case and returns it lower-cased. A server may select
//     no subprotocol (Subprotocol is then ""), where websocket-client fails;
//     a subprotocol selected when none was offered fails, where
//     websocket-client ignores it.
//   - The response header section is limited to 16 KiB by default;
//     websocket-client reads it without limit. Header names are
//     canonicalised and repeated fields keep all their values (websocket-client
//     lower-cases names, keeps the last value, and joins Set-Cookie values
//     with "; "). Folded lines are joined; interim 1xx answers are skipped.
//   - The body of a refused handshake is read when framed by Content-Length,
//     by chunked encoding or by the end of the stream ("Connection: close";
//     otherwise only the bytes that came with the header), up to 64 KiB;
//     websocket-client reads it only with Content-Length, and whole. The
//     error text holds the status only; headers and body are fields of
//     [*StatusError].
//   - A redirect is reported as a [*RedirectError] whose Location may be
//     relative and may use http or https (turned into ws or wss);
//     websocket-client fails on both. Following it is up to the caller.
//   - There is no cookie jar here; the caller passes the Cookie value.
package handshake
