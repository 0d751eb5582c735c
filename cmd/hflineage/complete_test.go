package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestIncompleteCrawlSaysSo interrupts a walk, then asks count, ancestors
// and export about the family: each warns on stderr, and --json carries
// "complete": false, until the crawl is rerun to its end.
func TestIncompleteCrawlSaysSo(t *testing.T) {
	const root = "meta-llama/Llama-3.1-8B"
	srv := hubtest.NewUnstartedServer(testWorld())
	var mu sync.Mutex
	var interrupt context.CancelFunc
	srv.Fault = func(n int, _ *http.Request) hubtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if n == 4 && interrupt != nil { // after the seed and its children are stored
			interrupt()
		}
		return hubtest.NoFault
	}
	srv.Start()
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	crawlArgs := []string{"crawl", "--db", db, "--endpoint", srv.URL, "--mode", "walk", "--parallel", "1", root}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mu.Lock()
	interrupt = cancel
	mu.Unlock()
	var errb bytes.Buffer
	if code := exitCode(run(ctx, crawlArgs, &bytes.Buffer{}, &errb), &errb); code != exitCanceled {
		t.Fatalf("interrupted crawl: exit %d, %s", code, errb.String())
	}
	mu.Lock()
	interrupt = nil
	mu.Unlock()

	tests := []struct {
		name string
		args []string
		json bool // stdout is one JSON object with "complete"
	}{
		{"count", []string{"count", root}, false},
		{"count --json", []string{"count", "--json", root}, true},
		{"count of a member", []string{"count", "--json", "a/ft"}, true},
		{"ancestors", []string{"ancestors", "a/ft"}, false},
		{"ancestors --json", []string{"ancestors", "--json", "a/ft"}, true},
		{"export family", []string{"export", "--format", "json", "--root", root}, false},
		{"export all", []string{"export", "--format", "csv"}, false},
		{"stats --json", []string{"stats", "--json"}, true},
		{"stats of the family", []string{"stats", "--json", "--root", root}, true},
		{"count of the ecosystem", []string{"count", "--json", "meta-llama/*"}, true},
	}
	check := func(t *testing.T, partial bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, stdout, stderr := cli(t, append(tt.args, "--db", db)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				warned := strings.HasPrefix(stderr, "warning: the last crawl")
				if warned != partial {
					t.Errorf("stderr %q; want a warning: %v", stderr, partial)
				}
				if partial && (strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "(run 1)") ||
					!strings.Contains(stderr, "hflineage crawl "+root)) {
					t.Errorf("warning %q: want one line naming run 1 and the crawl to rerun", stderr)
				}
				if !tt.json {
					if strings.Contains(stdout, `"complete"`) {
						t.Errorf("exported data carries \"complete\": %s", stdout)
					}
					return
				}
				var out struct{ Complete *bool }
				if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Complete == nil {
					t.Fatalf("--json %q: %v, complete %v", stdout, err, out.Complete)
				}
				if *out.Complete == partial {
					t.Errorf("complete = %v after a crawl that %s", *out.Complete, map[bool]string{true: "was interrupted", false: "finished"}[partial])
				}
			})
		}
	}
	t.Run("interrupted", func(t *testing.T) { check(t, true) })

	if code, _, stderr := cli(t, crawlArgs...); code != 0 || !strings.Contains(stderr, "(resumed)") {
		t.Fatalf("rerun: exit %d, %s", code, stderr)
	}
	t.Run("finished", func(t *testing.T) { check(t, false) })
}
