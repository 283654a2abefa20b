//go:build !race

package handshake_test

// raceEnabled reports a build with the race detector.
const raceEnabled = false
