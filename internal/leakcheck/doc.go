// Package leakcheck tells tests whether goroutines they started are still
// running once they are done: that no goroutine survives a closed
// connection is part of framewire's contract.
//
// # Use
//
// Call [Check] first in a test, so that its cleanup runs last, after the
// test's own cleanups closed its connections and servers. It waits a
// little for goroutines that are on their way out, then fails the test
// with the stacks of those that mention this module. [Wait] is the same
// check without a test, for callers that count goroutines themselves.
package leakcheck
