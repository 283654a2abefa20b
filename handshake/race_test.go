//go:build race

package handshake_test

// raceEnabled reports a build with the race detector, which changes
// what escapes to the heap: allocation counts mean nothing there.
const raceEnabled = true
