package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestCrawlThroughServeCancel: while serve holds the database, Ctrl-C on a
// crawl the CLI follows says that the server goes on and names the
// commands that follow and cancel it (never "run the same command
// again"); the same crawl again is followed, not queued twice; crawl
// --follow ID follows it and crawl --cancel ID cancels it, after which the
// follower ends with the cancel, and the same crawl starts over.
func TestCrawlThroughServeCancel(t *testing.T) {
	hub := hubtest.NewServer(testWorld())
	defer hub.Close()
	gate, held := make(chan struct{}), make(chan struct{})
	var heldOnce, releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gate) }) }
	defer release()
	hub.Fault = func(n int, r *http.Request) hubtest.Fault {
		if n > 2 {
			heldOnce.Do(func() { close(held) })
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		return hubtest.NoFault
	}
	db := filepath.Join(t.TempDir(), "db")
	sctx, stopServe := context.WithCancel(context.Background())
	_, serveErr, served := background(sctx, "serve", "--db", db, "--addr", "127.0.0.1:0", "--endpoint", hub.URL)
	defer func() {
		stopServe()
		if code := <-served; code != 0 {
			t.Errorf("serve: exit %d: %s", code, serveErr)
		}
	}()
	waitUntil(t, "the server", func() bool { return strings.Contains(serveErr.String(), "serve: listening on") })
	const model = "meta-llama/Llama-3.1-8B"
	cmd := "hflineage crawl --db " + db

	// Ctrl-C while following: the server goes on; the line says how to
	// follow or cancel the crawl.
	ctx, interrupt := context.WithCancel(context.Background())
	_, stderr, result := background(ctx, "crawl", "--db", db, model)
	waitUntil(t, "the crawl queued", func() bool { return strings.Contains(stderr.String(), "it queued this crawl (1)") })
	<-held
	interrupt()
	if code := <-result; code != exitCanceled ||
		!strings.Contains(stderr.String(), "crawl: no longer following crawl 1; the server goes on with it (follow it again: "+cmd+" --follow 1; cancel it: "+cmd+" --cancel 1)\n") ||
		!strings.HasSuffix(stderr.String(), "\nhflineage: interrupted\n") || strings.Contains(stderr.String(), "same command") {
		t.Errorf("Ctrl-C while following: exit %d, stderr:\n%s", code, stderr)
	}

	// The same crawl again follows crawl 1.
	ctx, interrupt = context.WithCancel(context.Background())
	_, stderr, result = background(ctx, "crawl", "--db", db, "--depth", "-1", model)
	waitUntil(t, "the crawl merged", func() bool {
		return strings.Contains(stderr.String(), "the same crawl (1) is queued or running there already: following it")
	})
	interrupt()
	<-result

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--cancel", "0"}, exitUsage, "--cancel 0: crawls are numbered from 1"},
		{[]string{"--cancel", "1", "--follow", "1"}, exitUsage, "--cancel and --follow exclude each other"},
		{[]string{"--cancel", "1", model}, exitUsage, "name no MODEL"},
		{[]string{"--follow", "1", "--all"}, exitUsage, "name no MODEL and no --all"},
		{[]string{"--cancel", "1", "--depth", "2"}, exitUsage, "goes with --db and --json only"},
		{[]string{"--cancel", "99"}, exitFailure, "no such crawl: 99"},
		{[]string{"--follow", "99"}, exitFailure, "crawl 99 is neither queued nor running"},
		{[]string{"--cancel", "1", "--db", filepath.Join(t.TempDir(), "other")}, exitFailure, "no hflineage serve holds database"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"crawl", "--db", db}, tc.args...)
			if code, _, stderr := cli(t, args...); code != tc.code || !strings.Contains(stderr, tc.says) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, stderr, tc.code, tc.says)
			}
		})
	}

	// --follow, then --cancel: the follower ends with the cancel.
	_, followErr, followed := background(context.Background(), "crawl", "--db", db, "--follow", "1")
	waitUntil(t, "the follower", func() bool { return strings.Contains(followErr.String(), "following crawl 1 of hflineage serve") })
	code, _, said := cli(t, "crawl", "--db", db, "--cancel", "1")
	if code != 0 || !strings.Contains(said, "crawl 1 stops at its next commit") || !strings.Contains(said, "its position dropped") {
		t.Errorf("--cancel 1: exit %d: %s", code, said)
	}
	if code := <-followed; code != exitFailure || !strings.Contains(followErr.String(), "hflineage: crawl 1 on the server: canceled; what it crawled is kept") {
		t.Errorf("--follow 1 of a crawl canceled: exit %d, stderr:\n%s", code, followErr)
	}
	if code, _, said := cli(t, "crawl", "--db", db, "--cancel", "1"); code != exitFailure || !strings.Contains(said, "has ended already") {
		t.Errorf("--cancel of an ended crawl: exit %d: %s", code, said)
	}

	// The same crawl starts over and completes.
	release()
	if code, _, said := cli(t, "crawl", "--db", db, model); code != 0 || !strings.Contains(said, "it queued this crawl (2)") {
		t.Errorf("the same crawl after the cancel: exit %d: %s", code, said)
	}
}

// TestCrawlCancelOfACrawlsReader: the server holding the database is the
// reads-only one of a crawl of the CLI (healthz says read_only): --cancel
// and --follow say so rather than ask it of a crawl it does not run.
func TestCrawlCancelOfACrawlsReader(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			t.Errorf("asked %s %s", r.Method, r.URL.Path)
		}
		fmt.Fprintf(w, `{"status":"ok","read_only":true,"pid":%d}`, os.Getpid())
	}))
	defer ts.Close()
	db := t.TempDir()
	// The holder's lock, naming the process the server says it is.
	if err := os.WriteFile(filepath.Join(db, badgerLock), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(db, serveAddrFile), []byte(strings.TrimPrefix(ts.URL, "http://")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--cancel", "--follow"} {
		code, _, stderr := cli(t, "crawl", "--db", db, flag, "1")
		if code != exitFailure || !strings.Contains(stderr, "held by a crawl or schedule of the CLI, which answers reads only") {
			t.Errorf("%s 1: exit %d: %s", flag, code, stderr)
		}
	}
}
