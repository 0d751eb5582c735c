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
	w = newInterruptibleWriter(ctx, pw)
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = w.Write(make([]byte, 1<<20)) // more than a pipe holds
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("blocked write: %v after %s", err, time.Since(start))
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("a write after an abandoned one: %v", err)
	}
}
