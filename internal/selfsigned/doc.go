// Package selfsigned makes the self-signed TLS certificates of the
// project's own loopback servers: wstest's TLS server and the conformance
// suite's HTTP/2 listener. Each is an ECDSA P-256 key and a certificate
// for 127.0.0.1, ::1 and "localhost", signed by itself, that a client
// trusts by adding it to its RootCAs.
package selfsigned
