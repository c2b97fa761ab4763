package epp

import (
	"runtime"

	"google.golang.org/grpc"
)

// Window sizes of every ext_proc connection, both ways. Setting them turns off gRPC's
// bandwidth-delay estimator, whose PING frames otherwise follow the data of each exchange (a
// write and a wakeup on both sides per pick); 1 MiB per stream holds a chat body in one window.
const (
	streamWindow = 1 << 20
	connWindow   = 16 << 20
)

// dialOptions tune a client connection for many short streams of small messages: static
// windows and no retry buffer (a pick is never retried by gRPC; failureMode decides). The
// write buffer is shared between flushes by default in this gRPC release; compression is off
// unless asked for.
func dialOptions(maxMsg int) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(connWindow),
		grpc.WithDisableRetry(),
	}
}

// ServerOptions tune an ext_proc server the same way, and run streams on a pool of workers
// (a stream no worker is free for gets its own goroutine, as without the pool) so that a pick
// does not start a goroutine and grow its stack.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
	}
}
