//go:build !race

package conn

// raceEnabled reports a build with the race detector.
const raceEnabled = false
