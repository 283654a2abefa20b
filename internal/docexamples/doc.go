// Package docexamples compiles, and where no network server is needed runs,
// the Go snippets of README.md and of the guides in docs/.
//
// Every fenced Go block of those files is an excerpt of a function in this
// package's tests, and a test checks that each block still appears there
// word for word, so the guides cannot drift from code that builds.
// The package exports nothing.
package docexamples
