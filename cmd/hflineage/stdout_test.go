package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// A write blocked on a pipe that nobody reads is abandoned once the
// context ends; writes before and after it go through in order.
func TestInterruptibleWriter(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	w := newInterruptibleWriter(ctx, &buf)
	w.Write([]byte("a"))
	cancel()
	if n, err := w.Write([]byte("b")); n != 1 || err != nil {
		t.Errorf("a write after the end of the context to a writer that takes it: %d, %v", n, err)
	}
	if buf.String() != "ab" {
		t.Errorf("wrote %q", buf.String())
	}

	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	ctx, cancel = context.WithCancel(context.Background())
	entered := make(chan struct{})
	w = newInterruptibleWriter(ctx, writerFunc(func(p []byte) (int, error) {
		close(entered)
		return pw.Write(p) // blocks: more than a pipe holds, and nobody reads
	}))
	go func() { <-entered; cancel() }() // the context ends once the write is under way
	written := make(chan error)
	go func() {
		_, err := w.Write(make([]byte, 1<<20))
		written <- err
	}()
	select {
	case err := <-written:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked write: %v", err)
		}
	case <-time.After(30 * time.Second): // fails a test that would hang
		t.Fatal("a blocked write was not abandoned when its context ended")
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("a write after an abandoned one: %v", err)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
