// Package docexamples compiles and runs the Go snippets of docs/migrating.md.
//
// Every fenced Go block of that guide is an excerpt of an Example function in
// this package's tests, and a test checks that each block still appears there
// word for word, so the guide cannot drift from code that builds and runs.
// The package exports nothing.
package docexamples
