package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
)

// TestRunsCommand: runs lists the runs newest first with their status
// (a crawl interrupted mid-way is canceled, the next one finished), pages
// with --limit and --before, and --json is GET /api/v1/runs's object.
func TestRunsCommand(t *testing.T) {
	// The second crawl is interrupted at its fourth request (as Ctrl-C
	// would); the next one resumes it (the same run) and finishes it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var armed atomic.Bool
	var requests atomic.Int32
	srv := hubtest.NewUnstartedServer(testWorld())
	srv.MaxPageSize = 1 // pages enough to interrupt between
	srv.Fault = func(int, *http.Request) hubtest.Fault {
		if armed.Load() && requests.Add(1) == 4 {
			cancel()
		}
		return hubtest.NoFault
	}
	srv.Start()
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	crawl := []string{"crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"}
	if code, _, stderr := cli(t, crawl...); code != 0 {
		t.Fatalf("crawl: exit %d: %s", code, stderr)
	}
	armed.Store(true)
	var out, errb bytes.Buffer
	if code := exitCode(run(ctx, crawl, &out, &errb), &errb); code != exitCanceled {
		t.Fatalf("interrupted crawl: exit %d: %s", code, errb.String())
	}
	armed.Store(false)
	code, stdout, stderr := cli(t, "runs", "--db", db)
	lines := strings.Split(stdout, "\n")
	if code != 0 || len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "run started finished kind status models edges requests" ||
		!regexp.MustCompile(`^2 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d - walk canceled \+\d+ -0 \+\d+ -0 \d+$`).MatchString(strings.Join(strings.Fields(lines[1]), " ")) ||
		!regexp.MustCompile(`^1 \S+ \S+ \S+ \S+ walk finished \+6 -0 \+7 -0 \d+$`).MatchString(strings.Join(strings.Fields(lines[2]), " ")) {
		t.Fatalf("runs after an interrupted crawl: exit %d, %q:\n%s", code, stderr, stdout)
	}
	if code, _, stderr := cli(t, crawl...); code != 0 {
		t.Fatalf("resumed crawl: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, crawl...); code != 0 {
		t.Fatalf("third crawl: exit %d: %s", code, stderr)
	}

	code, stdout, stderr = cli(t, "runs", "--db", db, "--json")
	var page struct {
		Runs       []query.Run `json:"runs"`
		NextBefore uint64      `json:"next_before"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &page) != nil {
		t.Fatalf("runs --json: exit %d, %q: %s", code, stderr, stdout)
	}
	var ids, statuses []string
	for _, r := range page.Runs {
		ids = append(ids, r.Mode)
		statuses = append(statuses, r.Status())
	}
	if len(page.Runs) != 3 || page.Runs[0].ID != 3 || page.Runs[2].ID != 1 || page.NextBefore != 0 ||
		strings.Join(statuses, " ") != "finished finished finished" || page.Runs[1].Requests == 0 {
		t.Errorf("runs --json: %d runs (%v, %v), next %d: %s", len(page.Runs), ids, statuses, page.NextBefore, stdout)
	}
	if !strings.Contains(stdout, `"models_added":`) || strings.Contains(stdout, `"stopped"`) {
		t.Errorf("runs --json lacks the run records' keys, or keeps a resumed run's stop: %s", stdout)
	}

	code, stdout, _ = cli(t, "runs", "--db", db, "--limit", "2")
	if code != 0 || !regexp.MustCompile(`(?s)^run .*\n3  .*\n2  .*finished.*\nolder runs: hflineage runs --before 2\n$`).MatchString(stdout) {
		t.Errorf("runs --limit 2: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = cli(t, "runs", "--db", db, "--before", "2", "--json")
	if code != 0 || !strings.HasPrefix(stdout, `{"runs":[{"run":1,`) || strings.Contains(stdout, "next_before") {
		t.Errorf("runs --before 2 --json: exit %d: %s", code, stdout)
	}
	for _, args := range [][]string{{"--limit", "0"}, {"--limit", "1001"}, {"--before", "-1"}, {"extra"}} {
		if code, _, stderr := cli(t, append([]string{"runs", "--db", db}, args...)...); code != 2 || !strings.Contains(stderr, "runs") {
			t.Errorf("runs %v: exit %d, %q; want a usage error", args, code, stderr)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if code, _, _ := cli(t, "crawl", "--db", empty, "--endpoint", srv.URL, "no/such-model"); code == 0 {
		t.Fatal("a crawl of nothing succeeded")
	}
	if code, stdout, stderr := cli(t, "runs", "--db", empty); code != 0 || !strings.HasPrefix(stdout, "no runs recorded") {
		t.Errorf("runs of a database without runs: exit %d, %q: %s", code, stderr, stdout)
	}
}

// TestNewReadCommandsThroughServe: runs, children, search, tree and
// ancestors print byte for byte the same while serve holds the database.
func TestNewReadCommandsThroughServe(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	for range 2 {
		if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
			t.Fatalf("crawl: exit %d: %s", code, stderr)
		}
	}
	sameThroughServe(t, db, [][]string{
		{"runs"}, {"runs", "--json"}, {"runs", "--limit", "1"}, {"runs", "--limit", "1", "--before", "2", "--json"}, {"runs", "--limit", "0"},
		{"children", "meta-llama/Llama-3.1-8B"}, {"children", "--json", "a/ft", "--limit", "1"}, {"children", "a/ft", "--relation", "merge"},
		{"children", "--sort", "likes", "a/ft"}, {"children", "no/such-model"}, {"children", "a/ft", "--cursor", "!!"},
		{"search", "a"}, {"search", "--json", "LLAMA", "--limit", "3"}, {"search", "zzz"},
		{"tree", "meta-llama/Llama-3.1-8B"}, {"tree", "--json", "meta-llama/Llama-3.1-8B", "--depth", "5"},
		{"tree", "meta-llama/Llama-3.1-8B", "--max", "1", "--relation", "finetune"}, {"tree", "no/such-model"},
		{"ancestors", "e/loop"}, {"ancestors", "--json", "e/loop"},
	})
}
