package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/server"
)

// TestExportViaServe: while `serve` holds the database, export asks it over
// HTTP, and prints byte for byte what the direct export printed: also with
// --legend, and with --max-nodes without --root (the whole database
// pruned), which the API once refused. Refusals are the same lines with the
// same exit code.
func TestExportViaServe(t *testing.T) {
	hub := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: 2000, Seed: 7}))
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "--all"); code != 0 {
		t.Fatalf("crawl --all: exit %d: %s", code, stderr)
	}
	const family = "base-org-0/Base-Model-0"
	exports := [][]string{
		{"--format", "dot"},
		{"--format", "dot", "--legend"},
		{"--format", "dot", "--max-nodes", "40"},
		{"--format", "dot", "--max-nodes", "40", "--legend", "--cluster", "author"},
		{"--format", "dot", "--max-nodes", "25", "--relation", "finetune,quantized"},
		{"--format", "csv", "--max-nodes", "40"},
		{"--format", "csv-nodes", "--max-nodes", "40"},
		{"--format", "json", "--max-nodes", "40"},
		{"--format", "graphml", "--max-nodes", "40"},
		{"--format", "dot", "--root", family, "--legend"},
		{"--format", "dot", "--root", family, "--max-nodes", "30", "--legend", "--cluster", "relation"},
		{"--format", "dot", "--root", family, "--depth", "1"},
		{"--format", "csv", "--legend"},
		{"--format", "dot", "--depth", "2"},
		{"--format", "dot", "--max-nodes", "-3"},
	}
	if _, err := exec.LookPath("dot"); err == nil {
		exports = append(exports, []string{"--format", "svg", "--max-nodes", "40"}, []string{"--format", "svg", "--root", family, "--max-nodes", "30"},
			[]string{"--format", "svg"}) // 2,000 nodes: laid out with sfdp, which export names on stderr
		if testing.Short() {
			exports = exports[:len(exports)-1] // sfdp takes seconds
		}
	}
	type result struct {
		code           int
		stdout, stderr string
	}
	run := func(args []string) result {
		code, stdout, stderr := cli(t, append([]string{"export", "--db", db}, args...)...)
		return result{code, stdout, stderr}
	}
	direct := make([]result, len(exports))
	for i, args := range exports {
		direct[i] = run(args)
	}
	// Sanity: the direct exports are what they claim, so that equal
	// answers mean something.
	if d := direct[1].stdout; !strings.Contains(d, "relation legend") || strings.Contains(direct[0].stdout, "relation legend") {
		t.Fatalf("the direct dot export's legend is not drawn only with --legend")
	}
	if len(direct[2].stdout) == 0 || len(direct[2].stdout) >= len(direct[0].stdout)/2 {
		t.Fatalf("--max-nodes 40 without --root did not prune the database: %d bytes of %d", len(direct[2].stdout), len(direct[0].stdout))
	}

	if last := exports[len(exports)-1]; len(last) == 2 && last[1] == "svg" && !strings.Contains(direct[len(direct)-1].stderr, "laying out with sfdp") {
		t.Fatalf("the direct svg of the whole database does not name sfdp: %q", direct[len(direct)-1].stderr)
	}

	serveHolding(t, db)
	for i, args := range exports {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got, want := run(args), direct[i]
			if got.code != want.code || got.stderr != want.stderr {
				t.Errorf("through serve: exit %d, stderr %q; direct: exit %d, stderr %q", got.code, got.stderr, want.code, want.stderr)
			}
			if got.stdout != want.stdout {
				t.Errorf("through serve, %d bytes differ from the direct export's %d:\n%.600s\nwant:\n%.600s", len(got.stdout), len(want.stdout), got.stdout, want.stdout)
			}
		})
	}
}

// serveHolding starts serve on db until the test ends (then checks that it
// exited 0), and fails unless the CLI now asks it rather than reading db.
func serveHolding(t *testing.T, db string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	_, serveErr, done := background(ctx, "serve", "--db", db, "--addr", "127.0.0.1:0")
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve: exit %d: %s", code, serveErr)
		}
	})
	waitUntil(t, "the server", func() bool { return strings.Contains(serveErr.String(), "serve: listening on") })
	q, closeEngine, err := openEngine(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	closeEngine()
	if _, ok := q.(*remote); !ok {
		t.Fatalf("with serve holding the database, the CLI reads it itself (%T): the test would compare nothing", q)
	}
}

// sameThroughServe runs each command on db, then again while serve holds
// db, and requires the same exit code, stdout and stderr.
func sameThroughServe(t *testing.T, db string, commands [][]string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	run := func(args []string) result {
		code, stdout, stderr := cli(t, append(args, "--db", db)...)
		return result{code, stdout, stderr}
	}
	direct := make([]result, len(commands))
	for i, args := range commands {
		direct[i] = run(args)
	}
	serveHolding(t, db)
	for i, args := range commands {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if got, want := run(args), direct[i]; got != want {
				t.Errorf("through serve: %+v\ndirect: %+v", got, want)
			}
		})
	}
}

// TestServeScheduleStart: serve's schedule starts as schedule's does.
// --cron waits for its first time (no request to the Hub meanwhile) and the
// "scheduled" log line says when; --every and --cron --now crawl at once.
func TestServeScheduleStart(t *testing.T) {
	next := time.Now().UTC().Truncate(24 * time.Hour).Add(3 * time.Hour)
	if !next.After(time.Now()) {
		next = next.Add(24 * time.Hour)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		first string // the first_run the log names
		now   bool   // a crawl starts at once
	}{
		{"cron waits", []string{"--cron", "CRON_TZ=UTC 0 3 * * *"}, next.Format(time.RFC3339), false},
		{"cron --now", []string{"--cron", "CRON_TZ=UTC 0 3 * * *", "--now"}, "now", true},
		{"every", []string{"--every", "6h"}, "now", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := hubtest.NewServer(testWorld())
			defer hub.Close()
			db := filepath.Join(t.TempDir(), "db")
			ctx, cancel := context.WithCancel(context.Background())
			args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--endpoint", hub.URL}, tc.flags...)
			_, stderr, done := background(ctx, append(args, "a/ft")...)
			defer func() {
				cancel()
				if code := <-done; code != 0 {
					t.Errorf("serve: exit %d: %s", code, stderr)
				}
			}()
			waitUntil(t, "the scheduled line", func() bool { return strings.Contains(stderr.String(), "msg=scheduled") })
			if want := " first_run=" + tc.first + "\n"; !strings.Contains(stderr.String(), want) {
				t.Errorf("the log does not say %q:\n%s", want, stderr)
			}
			if tc.now {
				waitUntil(t, "the first crawl", func() bool { return strings.Contains(stderr.String(), `msg="crawl finished"`) })
				return
			}
			// Nothing to wait for: the server answers, and has asked the Hub nothing.
			r, ok := findServer(db)
			if !ok {
				t.Fatalf("the server does not answer:\n%s", stderr)
			}
			var st server.Status
			if err := r.get(ctx, "/api/v1/crawl", nil, &st); err != nil {
				t.Fatal(err)
			}
			if st.Running != nil || len(st.Queue) > 0 || len(st.Finished) > 0 || hub.RequestCount() != 0 {
				t.Errorf("a crawl before the first cron time: %+v, %d requests to the Hub", st, hub.RequestCount())
			}
		})
	}
}

// TestExportViaServeIncomplete: after a crawl that did not complete, export
// through serve warns as the direct export does, for the whole database as
// for a family, before the same output.
func TestExportViaServeIncomplete(t *testing.T) {
	hub := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: 2000, Seed: 7}))
	defer hub.Close()
	hub.MaxPageSize = 100
	db := filepath.Join(t.TempDir(), "db")
	// The first scan stops (as on Ctrl-C) while its 8th page is listed:
	// the pages before it are stored, the run is not complete.
	ctx, cancel := context.WithCancel(context.Background())
	hub.Fault = func(n int, _ *http.Request) hubtest.Fault {
		if n == 8 {
			cancel()
			return hubtest.Slow
		}
		return hubtest.NoFault
	}
	var stderr bytes.Buffer
	if code := exitCode(run(ctx, []string{"crawl", "--db", db, "--endpoint", hub.URL, "--all"}, io.Discard, &stderr), &stderr); code != exitCanceled {
		t.Fatalf("the interrupted crawl: exit %d: %s", code, &stderr)
	}
	exports := [][]string{
		{"--format", "csv"},
		{"--format", "dot", "--max-nodes", "20", "--legend"},
		{"--format", "dot", "--root", "base-org-0/Base-Model-0"},
	}
	direct := make([][3]string, len(exports))
	for i, args := range exports {
		code, stdout, stderr := cli(t, append([]string{"export", "--db", db}, args...)...)
		direct[i] = [3]string{strconv.Itoa(code), stdout, stderr}
	}
	if !strings.HasPrefix(direct[0][2], "warning: the last crawl did not complete (run 1); this export may be partial") {
		t.Fatalf("the direct export does not warn of the unfinished crawl: %q", direct[0][2])
	}
	sctx, stop := context.WithCancel(context.Background())
	_, serveErr, done := background(sctx, "serve", "--db", db, "--addr", "127.0.0.1:0", "--restart")
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve: exit %d: %s", code, serveErr)
		}
	}()
	waitUntil(t, "the server", func() bool { return strings.Contains(serveErr.String(), "serve: listening on") })
	for i, args := range exports {
		code, stdout, stderr := cli(t, append([]string{"export", "--db", db}, args...)...)
		if got := [3]string{strconv.Itoa(code), stdout, stderr}; got != direct[i] {
			t.Errorf("%v through serve: exit %s, stderr %q, %d bytes; direct: exit %s, stderr %q, %d bytes",
				args, got[0], got[2], len(got[1]), direct[i][0], direct[i][2], len(direct[i][1]))
		}
	}
}
