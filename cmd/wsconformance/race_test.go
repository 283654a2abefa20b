//go:build race

package main

// raceEnabled: under the race detector the whole-suite tests run a subset,
// since the full suite takes minutes there; make conformance runs every case
// over both transports without it.
const raceEnabled = true
