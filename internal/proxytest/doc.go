// Package proxytest runs minimal proxies on 127.0.0.1 for tests: HTTP
// CONNECT (RFC 9110 §9.3.6), SOCKS4/4a and SOCKS5 (RFC 1928, RFC 1929),
// and a TCP echo server to use as the target.
//
// # Behaviour
//
// Each proxy serves one tunnel per connection: it reads the request,
// checks the credentials of its [Config], records the request, answers, and
// copies bytes both ways between the client and the target. [Config.Hold]
// makes it stop after reading the request, to test cancellation. Servers
// are closed, and their goroutines ended, by the test's Cleanup.
package proxytest
