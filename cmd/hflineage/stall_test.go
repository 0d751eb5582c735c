package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestStallTimeoutFlag: --stall-timeout reaches the crawler — an answer
// that stops mid-body is asked again after 1s, not after the default 30s
// (the context's deadline, 20s, ends the crawl before the default would
// fire) — and a value under a second is a usage error.
func TestStallTimeoutFlag(t *testing.T) {
	srv := hubtest.NewUnstartedServer(testWorld())
	var stalls atomic.Int32
	srv.Fault = func(n int, r *http.Request) hubtest.Fault {
		if stalls.CompareAndSwap(0, 1) {
			return hubtest.Stall
		}
		return hubtest.NoFault
	}
	srv.Start()
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"crawl", "--db", db, "--endpoint", srv.URL, "--stall-timeout", "1s", "meta-llama/meta-llama-3.1-8b"}, &out, &errb)
	if code := exitCode(err, &errb); code != 0 {
		t.Fatalf("crawl exit %d: %s", code, errb.String())
	}
	if stalls.Load() != 1 || !strings.Contains(errb.String(), "crawl: 6 models") {
		t.Errorf("%d stalls; stderr %q, want one stall and the whole family", stalls.Load(), errb.String())
	}

	for _, bad := range []string{"10ms", "0s", "-1s"} {
		code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--stall-timeout", bad, "meta-llama/meta-llama-3.1-8b")
		if code != exitUsage || !strings.Contains(stderr, "--stall-timeout must be at least 1s") {
			t.Errorf("--stall-timeout %s: exit %d, %q; want a usage error", bad, code, stderr)
		}
	}
}
