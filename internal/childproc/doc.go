// Package childproc runs a test function of the running test binary in a
// child process, for benchmarks whose server must not share the process
// (and so the allocation counts) of the client they measure: conn's
// HTTP/2 echo and bench's dial rows.
package childproc
