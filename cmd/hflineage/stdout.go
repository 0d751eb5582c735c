package main

import (
	"context"
	"io"
	"sync"
	"time"
)

// stdoutGrace is how long a write may still take once the command's
// context has ended, before it is abandoned.
const stdoutGrace = 100 * time.Millisecond

// interruptibleWriter writes to w from a goroutine of its own, so that a
// command whose output is blocked (a pipe to a reader that stopped
// reading) still stops when its context ends: the blocked write is
// abandoned, this and every later Write returns the context's error, and
// the process exits around it. Until then, writes go through in order,
// also after the context ended (a scheduler's last log line).
type interruptibleWriter struct {
	ctx  context.Context
	w    io.Writer // the writer written to, for Fd
	mu   sync.Mutex
	todo chan []byte
	done chan writeResult
	err  error // set once a write was abandoned
}

type writeResult struct {
	n   int
	err error
}

func newInterruptibleWriter(ctx context.Context, w io.Writer) *interruptibleWriter {
	iw := &interruptibleWriter{ctx: ctx, w: w, todo: make(chan []byte), done: make(chan writeResult)}
	go func() {
		for p := range iw.todo {
			n, err := w.Write(p)
			iw.done <- writeResult{n, err}
		}
	}()
	return iw
}

// Write writes p, or returns the context's error when the write is still
// blocked stdoutGrace after the context ended.
func (iw *interruptibleWriter) Write(p []byte) (int, error) {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	if iw.err != nil {
		return 0, iw.err
	}
	// The writing goroutine may outlive this call: it gets its own copy.
	iw.todo <- append([]byte(nil), p...)
	select {
	case r := <-iw.done:
		return r.n, r.err
	case <-iw.ctx.Done():
	}
	timer := time.NewTimer(stdoutGrace)
	defer timer.Stop()
	select {
	case r := <-iw.done:
		return r.n, r.err
	case <-timer.C:
		iw.err = iw.ctx.Err()
		return 0, iw.err
	}
}

// Fd is the file descriptor written to (as os.File's), so that a command
// can tell a terminal; ^uintptr(0) when that is not a file.
func (iw *interruptibleWriter) Fd() uintptr {
	if f, ok := iw.w.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}
