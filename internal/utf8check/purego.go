//go:build purego

package utf8check

// Valid reports whether p is entirely well-formed UTF-8.
func Valid(p []byte) bool {
	return validRef(p)
}

func (v *Validator) write(p []byte) bool {
	return v.writeRef(p)
}
