package utf8check_test

import (
	"fmt"

	"github.com/framewire/ws/internal/utf8check"
)

func ExampleValid() {
	fmt.Println(utf8check.Valid([]byte("h\u00e9llo")))
	fmt.Println(utf8check.Valid([]byte("\xed\xa0\x80"))) // a surrogate
	// Output:
	// true
	// false
}

func ExampleValidator() {
	// "€" (E2 82 AC) split across two writes, then a bad byte.
	var v utf8check.Validator
	fmt.Println(v.Write([]byte{'a', 0xE2}), v.Complete())
	fmt.Println(v.Write([]byte{0x82, 0xAC}), v.Complete())
	fmt.Println(v.Write([]byte{0xE2, 0x28}), v.Complete())
	// Output:
	// true false
	// true true
	// false false
}
