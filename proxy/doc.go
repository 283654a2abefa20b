// Package proxy opens connections through the proxies a WebSocket client
// may need to reach its server: HTTP and HTTPS proxies (CONNECT, RFC 9110
// §9.3.6), SOCKS5 (RFC 1928, with RFC 1929 username/password) and SOCKS4
// and SOCKS4a. It also chooses a proxy from environment variables. It is
// the proxy part of websocket-client's _http.py and _url.py.
//
// # Dialing
//
// A [Dialer] opens a tunnel to a target through the proxy at its URL,
// whose scheme (http, https, socks4, socks4a, socks5, socks5h) chooses the
// protocol; socks4a and socks5h let the proxy resolve the target's name. A
// context bounds the whole dial. [AppendConnect] builds the CONNECT request
// on its own.
//
// Failures are [*Error] values: a refusal carries the HTTP status or the
// SOCKS reply code and matches [ErrRefused], and [ErrAuth] when the
// credentials were refused; a reply that breaks the protocol matches
// [ErrProtocol]; what cannot be sent matches [ErrInvalid].
//
// # Choosing a proxy
//
// A proxy function has net/http's Transport.Proxy type, func(*http.Request)
// (*url.URL, error), so [http.ProxyURL] and [http.ProxyFromEnvironment]
// serve as well as this package's [FromEnvironment], [Env.ProxyFunc] and
// [Direct]. [Env] holds environment-style settings (http_proxy,
// https_proxy, all_proxy, no_proxy); [ReadEnv] reads them through a lookup
// function. Nothing is cached in the package.
//
// # Differences from websocket-client
//
// These are deliberate:
//
//   - CONNECT brackets an IPv6 target, accepts any 2xx answer
//     (websocket-client: 200 only), can carry extra fields, and can run
//     over TLS to an https proxy. SOCKS is built in, and its refusals carry
//     the reply code. The CONNECT answer is limited to
//     [DefaultMaxHeaderBytes] by default.
//   - Environment proxies: all_proxy is honoured; the proxy URL's scheme is
//     honoured (socks5://... in https_proxy means SOCKS), where
//     websocket-client always uses CONNECT. no_proxy follows Go's rules
//     (golang.org/x/net/http/httpproxy): "example.com" also matches its
//     subdomains, ".example.com" matches on a label boundary only (not
//     "badexample.com"), entries may carry a port, and localhost and
//     loopback addresses are always reached directly (websocket-client has
//     proxied them since 1.9.0). A proxy URL without a port uses the
//     scheme's default (80, 443 or 1080); websocket-client requires a port
//     for an explicit proxy.
package proxy
