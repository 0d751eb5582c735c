package main

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/store"
)

// unreachableEndpoint returns the URL of a loopback port nothing listens
// on: connections to it are refused.
func unreachableEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// assertNoRuns fails when db records a run or an unfinished crawl.
func assertNoRuns(t *testing.T, db string) {
	t.Helper()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("runs recorded: %+v, want none", runs)
	}
	if _, ok, err := st.CrawlJob(); ok || err != nil {
		t.Errorf("an unfinished crawl is left (%v, %v)", ok, err)
	}
}

// A crawl that cannot reach the Hub ($HF_ENDPOINT on a port nothing
// listens on) says so in one line naming the endpoint and the cause, exits
// 1, and records no run; --json says the same in its error. Through serve
// (which holds the database and crawls with its own endpoint) the line and
// the exit code are the same.
func TestCrawlUnreachableHub(t *testing.T) {
	hub := unreachableEndpoint(t)
	t.Setenv("HF_ENDPOINT", hub)
	want := "hflineage: cannot reach " + hub + ": connection refused — check the network or HF_ENDPOINT\n"
	db := filepath.Join(t.TempDir(), "db")

	code, stdout, stderr := cli(t, "crawl", "--db", db, "meta-llama/Llama-3.1-8B")
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("crawl: exit %d, stdout %q, stderr\n%q\nwant exit 1 and\n%q", code, stdout, stderr, want)
	}
	code, stdout, _ = cli(t, "crawl", "--json", "--db", db, "--mode", "walk", "meta-llama/Llama-3.1-8B")
	var out map[string]any
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("crawl --json: %v: %q", err, stdout)
	}
	if code != 1 || out["error"] != strings.TrimSuffix(strings.TrimPrefix(want, "hflineage: "), "\n") || out["run"] != float64(0) || out["complete"] != false {
		t.Errorf("crawl --json: exit %d, %s", code, stdout)
	}
	assertNoRuns(t, db)

	ctx, cancel := context.WithCancel(context.Background())
	_, serveErr, done := background(ctx, "serve", "--db", db, "--addr", "127.0.0.1:0")
	waitUntil(t, "the server", func() bool { return strings.Contains(serveErr.String(), "serve: listening on") })
	code, stdout, stderr = cli(t, "crawl", "--db", db, "meta-llama/Llama-3.1-8B")
	if code != 1 || stdout != "" || !strings.HasSuffix(stderr, want) || strings.Contains(stderr, "crawl: 0 models") {
		t.Errorf("crawl through serve: exit %d, stdout %q, stderr\n%q\nwant exit 1 and\n%q", code, stdout, stderr, want)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve: exit %d: %s", code, serveErr)
	}
	if !strings.Contains(serveErr.String(), "cannot reach "+hub+": connection refused") {
		t.Errorf("serve's log does not say why the crawl failed:\n%s", serveErr)
	}
	assertNoRuns(t, db)
}
