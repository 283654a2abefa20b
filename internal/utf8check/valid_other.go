//go:build !amd64 && !purego

package utf8check

import "unicode/utf8"

// validComplete reports whether q, which starts on a character boundary,
// is well-formed UTF-8 that ends on one.
func validComplete(q []byte) bool {
	return utf8.Valid(q)
}
