//go:build race

package conn_test

// raceEnabled reports a -race build, whose sync.Pool drops a share of
// what it is given: allocation counts then mean nothing.
const raceEnabled = true
