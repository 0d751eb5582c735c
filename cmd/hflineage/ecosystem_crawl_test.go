package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
)

// TestCrawlEcosystem: crawl takes patterns of an organisation's models
// (and comma lists, beside ids); bad patterns are usage errors, and a
// pattern matching nothing on the Hub is one line, exit 1, with nothing
// crawled or recorded.
func TestCrawlEcosystem(t *testing.T) {
	world := testWorld()
	world.Add(hubtest.Model{ID: "meta-llama/Llama-3.2-1B", Tags: []string{"license:llama3.2"}})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // a line of stderr (the whole of it when the crawl fails)
		seeds  []string
	}{
		{"organisation", []string{"meta-llama/*"}, 0, "plan: walk — ", []string{"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.2-1B"}},
		{"glob, comma list and id", []string{"META-LLAMA/llama-3.2-*,a/*", "b/lora"}, 0, "crawl: ", []string{"meta-llama/Llama-3.2-1B", "a/ft", "b/lora"}},
		{"no match", []string{"meta-llama/Llama-9-*"}, 1,
			"hflineage: no model on the Hub matches meta-llama/Llama-9-* (the Hub lists 2 models of meta-llama, none matching)\n", nil},
		{"unknown organisation", []string{"b/lora", "nobody/*"}, 1,
			"hflineage: no model on the Hub matches nobody/*: the Hub lists no model of the organisation \"nobody\"\n", nil},
		{"every model", []string{"*"}, 2, "hflineage crawl --all", nil},
		{"every model of every organisation", []string{"*/*"}, 2, "hflineage stats", nil},
		{"no organisation", []string{"*/Llama-*"}, 2, "must name its organisation", nil},
		{"invalid", []string{"meta-llama/Llama 3*"}, 2, "invalid model id", nil},
		{"empty in a list", []string{"a/*,,b/*"}, 2, "empty pattern", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "db")
			code, stdout, stderr := cli(t, append([]string{"crawl", "--json", "--db", db, "--endpoint", srv.URL}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			switch {
			case tt.code == 1 && stderr != tt.stderr:
				t.Errorf("stderr:\n%s\nwant just\n%s", stderr, tt.stderr)
			case !strings.Contains(stderr, tt.stderr):
				t.Errorf("stderr:\n%s\nwant a line with %q", stderr, tt.stderr)
			}
			if tt.code != 0 {
				if _, err := os.Stat(db); err == nil {
					e, err := query.OpenDB(context.Background(), db, query.OpenOptions{})
					if err != nil {
						t.Fatal(err)
					}
					defer e.Close()
					if runs, err := e.Runs(context.Background()); err != nil || len(runs) != 0 {
						t.Errorf("runs recorded: %v (%v)", runs, err)
					}
				}
				return
			}
			var out struct {
				Run  uint64 `json:"run"`
				Plan struct {
					Mode     string `json:"mode"`
					ScanCost int    `json:"scan_cost"`
					PageSize int    `json:"page_size"`
				} `json:"plan"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatal(err)
			}
			if out.Run != 1 || out.Plan.Mode != "walk" || out.Plan.ScanCost != 3030 || out.Plan.PageSize != 1000 {
				t.Errorf("--json: %s", stdout)
			}
			for _, s := range tt.seeds {
				if code, _, stderr := cli(t, "count", "--db", db, s); code != 0 {
					t.Errorf("count %s: exit %d: %s", s, code, stderr)
				}
			}
		})
	}
}

// TestScheduleEcosystem: schedule takes patterns as crawl does, and
// refuses the bad ones before it schedules anything.
func TestScheduleEcosystem(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	code, stdout, stderr := cli(t, "schedule", "--every", "1h", "--runs", "1", "--db", db, "--endpoint", srv.URL, "meta-llama/*")
	if code != 0 || !strings.Contains(stdout, "crawl: 6 models") || !strings.Contains(stdout, "scheduled: crawl [meta-llama/*]") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "schedule", "--every", "1h", "--db", db, "--endpoint", srv.URL, "*/*"); code != 2 || !strings.Contains(stderr, "crawl --all") {
		t.Errorf("schedule */*: exit %d, stderr %s", code, stderr)
	}
}
