// Package bench compares framewire with gorilla/websocket, coder/websocket,
// gobwas/ws and lxzan/gws. It is a module of its own, so that the SDK's
// go.mod names none of them; it has no code outside its tests.
//
// # Benchmarks
//
//   - BenchmarkMask: in-place masking (RFC 6455 §5.3) with each library's
//     own kernel, 16 B to 1 MiB.
//   - BenchmarkHeaderEncode, BenchmarkHeaderDecode: frame headers
//     (RFC 6455 §5.2), framewire against gobwas/ws, the only peer that
//     exports them.
//   - BenchmarkReadFrames: a stream of server frames read from memory with
//     framewire's reader and gobwas/ws.
//   - BenchmarkRecvMemory: whole messages received through each client's
//     API from a connection that lives in memory; framewire per call
//     (ReadDataFrame), per call on a held Receiver (Receive, the
//     framewire-receiver row) and in bursts (ReadMessages, the
//     framewire-batch row).
//   - BenchmarkEcho: one binary message sent to an echo server over
//     loopback TCP and received back, per client.
//   - BenchmarkIdleConn: heap, stack and goroutines per open connection,
//     idle and with a goroutine waiting in receive (one started after the
//     dial, or the one that dialled).
//   - BenchmarkCompressIdleConn: the same per connection with
//     permessage-deflate (RFC 7692) agreed, after one compressed message
//     each way, per framewire preset and per peer's context takeover mode.
//   - BenchmarkCompressSend, BenchmarkCompressRecv: compressing and sending,
//     and receiving and inflating, JSON, text and binary messages of 2 KiB
//     and 64 KiB, with the compressed size against compress/flate at
//     BestSpeed.
//
// # Running
//
//	cd bench && go test -bench . -benchmem
//
// README.md has the method and the figures measured.
package bench
