// Package layering holds the test that keeps framewire's dependency
// direction true: each package may import only the packages below it, as
// the table in layering_test.go lists. It has no code of its own.
package layering
