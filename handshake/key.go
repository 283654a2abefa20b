package handshake

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"io"
)

// keyGUID is the fixed string of RFC 6455 §1.3 appended to the key.
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// NewKey returns a fresh Sec-WebSocket-Key: the base64 encoding of 16
// bytes read from r (RFC 6455 §4.1, item 7). A nil r means crypto/rand.
// It is websocket-client's _create_sec_websocket_key.
func NewKey(r io.Reader) (string, error) {
	var nonce [16]byte
	if r == nil {
		rand.Read(nonce[:]) // never fails (crypto/rand, Go 1.24+)
	} else {
		// A buffer passed to an io.Reader escapes: only this path
		// pays for one, and nonce stays on the stack for crypto/rand.
		b := make([]byte, len(nonce))
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		copy(nonce[:], b)
	}
	return base64.StdEncoding.EncodeToString(nonce[:]), nil
}

// AcceptKey returns the Sec-WebSocket-Accept value a server must send for
// key: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
// (RFC 6455 §4.2.2, item 5.4).
func AcceptKey(key string) string {
	var out [28]byte
	acceptKey(&out, key)
	return string(out[:])
}

// acceptKey writes AcceptKey(key) to out.
func acceptKey(out *[28]byte, key string) {
	var in [64]byte // a 24-byte key and the 36-byte GUID fit
	sum := sha1.Sum(append(append(in[:0], key...), keyGUID...))
	base64.StdEncoding.Encode(out[:], sum[:])
}

// isAccept reports whether v is AcceptKey(key), case included.
func isAccept(v, key string) bool {
	var out [28]byte
	acceptKey(&out, key)
	return v == string(out[:])
}

// validKey reports whether key is the base64 encoding of 16 bytes.
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	return err == nil && n == 16
}
