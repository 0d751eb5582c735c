package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// parityDB crawls the test world twice into a new database (run 1 into
// an empty database, run 2 after it), then starts serve holding it, and
// returns the database and the server's base URL. cliFirst runs before
// serve starts: the CLI's own answers, not the server's.
func parityDB(t *testing.T, cliFirst func(db string)) (db, base string) {
	t.Helper()
	hub := hubtest.NewServer(testWorld())
	t.Cleanup(hub.Close)
	db = filepath.Join(t.TempDir(), "db")
	for range 2 {
		if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", hub.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
			t.Fatalf("crawl: exit %d: %s", code, stderr)
		}
	}
	cliFirst(db)
	serveHolding(t, db)
	addr, err := os.ReadFile(filepath.Join(db, serveAddrFile))
	if err != nil {
		t.Fatal(err)
	}
	return db, "http://" + strings.TrimSpace(string(addr))
}

func apiGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunZeroAlike: diff --run 0 is a usage error, and GET
// /api/v1/diff?run=0 a 400 saying the same in the API's words (it
// answered the last run).
func TestRunZeroAlike(t *testing.T) {
	tests := []struct {
		name     string
		cli      []string
		api      string
		cliSays  string
		apiSays  string
		apiState int
	}{
		{"run 0", []string{"diff", "--run", "0"}, "/api/v1/diff?run=0",
			"diff: --run 0: runs are numbered from 1 (leave --run out for the last run)", `"error":"run 0: runs are numbered from 1 (leave run out for the last run)"`, 400},
		{"run -1", []string{"diff", "--run", "-1"}, "/api/v1/diff?run=-1",
			"diff: --run -1: runs are numbered from 1", `"error":"run -1: runs are numbered from 1`, 400},
		{"run 0 of a family", []string{"diff", "--run", "0", "a/ft"}, "/api/v1/diff?run=0&model=a/ft",
			"--run 0: runs are numbered from 1", `"error":"run 0: runs are numbered from 1`, 400},
		{"run 0 of an ecosystem", []string{"diff", "--run", "0", "meta-llama/*"}, "/api/v1/diff?run=0&model=meta-llama/*",
			"--run 0: runs are numbered from 1", `"error":"run 0: runs are numbered from 1`, 400},
		{"not a number", []string{"diff", "--run", "x"}, "/api/v1/diff?run=x",
			"--run", `"error":"run must be a run number, not \"x\""`, 400},
		{"run 2 of 2", []string{"diff", "--run", "2"}, "/api/v1/diff?run=2", "", `"run":2`, 200},
	}
	got := make([]struct {
		code   int
		stderr string
	}, len(tests))
	_, base := parityDB(t, func(db string) {
		for i, tc := range tests {
			got[i].code, _, got[i].stderr = cli(t, append(tc.cli, "--db", db)...)
		}
	})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode := exitOK
			if tc.apiState != 200 {
				wantCode = exitUsage
			}
			if got[i].code != wantCode || !strings.Contains(got[i].stderr, tc.cliSays) {
				t.Errorf("CLI %v: exit %d, %q; want %d saying %q", tc.cli, got[i].code, got[i].stderr, wantCode, tc.cliSays)
			}
			if status, body := apiGet(t, base+tc.api); status != tc.apiState || !strings.Contains(body, tc.apiSays) {
				t.Errorf("API %s: %d %s; want %d with %s", tc.api, status, body, tc.apiState, tc.apiSays)
			}
		})
	}
}

// TestErrorsInTheirEdgesWords: the same mistake is named as a flag by the
// CLI (--top) and as a query parameter by the API (top), never the other
// way round.
func TestErrorsInTheirEdgesWords(t *testing.T) {
	tests := []struct {
		name             string
		cli              []string
		api              string
		cliSays, apiSays string
	}{
		{"stats top 0", []string{"stats", "--top", "0"}, "/api/v1/stats?top=0", "stats: --top must be at least 1", "top must be between 1 and 1000, not 0"},
		{"diff run 0", []string{"diff", "--run", "0"}, "/api/v1/diff?run=0", "--run 0: runs are numbered from 1", "run 0: runs are numbered from 1"},
		{"export format", []string{"export", "--format", "gif"}, "/api/v1/export?format=gif", "unknown --format \"gif\"", "unknown format \"gif\""},
		{"export depth without a root", []string{"export", "--format", "dot", "--depth", "1"}, "/api/v1/export?format=dot&depth=1", "--depth needs --root", "depth needs model"},
	}
	got := make([]string, len(tests))
	_, base := parityDB(t, func(db string) {
		for i, tc := range tests {
			var code int
			if code, _, got[i] = cli(t, append(tc.cli, "--db", db)...); code != exitUsage {
				t.Errorf("CLI %v: exit %d, want a usage error: %s", tc.cli, code, got[i])
			}
		}
	})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(got[i], tc.cliSays) {
				t.Errorf("CLI %v: %q; want it saying %q", tc.cli, got[i], tc.cliSays)
			}
			status, body := apiGet(t, base+tc.api)
			var e struct{ Error string }
			json.Unmarshal([]byte(body), &e)
			if status != 400 || !strings.Contains(e.Error, tc.apiSays) || strings.Contains(e.Error, "--") {
				t.Errorf("API %s: %d %s; want 400 saying %q, naming no flag", tc.api, status, body, tc.apiSays)
			}
		})
	}
}

// TestDiffKeys: diff --json and GET /api/v1/diff have the same keys,
// all_new among them when false too, and docs/reference.md names every
// one of them.
func TestDiffKeys(t *testing.T) {
	tests := []struct {
		name    string
		cli     []string
		api     string
		allNew  bool
		hasKeys []string
	}{
		{"the last run", []string{"diff", "--json"}, "/api/v1/diff", false, nil},
		{"the first run", []string{"diff", "--json", "--run", "1"}, "/api/v1/diff?run=1", true, nil},
		{"a family", []string{"diff", "--json", "a/ft"}, "/api/v1/diff?model=a/ft", false, []string{"model"}},
		{"an ecosystem", []string{"diff", "--json", "--run", "1", "meta-llama/*"}, "/api/v1/diff?run=1&model=meta-llama/*", true, []string{"model"}},
	}
	got := make([]string, len(tests))
	_, base := parityDB(t, func(db string) {
		for i, tc := range tests {
			var code int
			var stderr string
			if code, got[i], stderr = cli(t, append(tc.cli, "--db", db)...); code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.cli, code, stderr)
			}
		}
	})
	section := referenceSection(t, "history, diff")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := apiGet(t, base+tc.api)
			if status != 200 {
				t.Fatalf("API %s: %d %s", tc.api, status, body)
			}
			var fromCLI, fromAPI map[string]any
			if err := json.Unmarshal([]byte(got[i]), &fromCLI); err != nil {
				t.Fatalf("%v: %q", err, got[i])
			}
			if err := json.Unmarshal([]byte(body), &fromAPI); err != nil {
				t.Fatalf("%v: %q", err, body)
			}
			keys := func(m map[string]any) []string {
				var ks []string
				for k := range m {
					ks = append(ks, k)
				}
				slices.Sort(ks)
				return ks
			}
			if !slices.Equal(keys(fromCLI), keys(fromAPI)) {
				t.Errorf("keys differ: CLI %v, API %v", keys(fromCLI), keys(fromAPI))
			}
			for _, m := range []map[string]any{fromCLI, fromAPI} {
				if allNew, ok := m["all_new"]; !ok || allNew != tc.allNew {
					t.Errorf("all_new %v (present: %v), want %v: %v", allNew, ok, tc.allNew, m)
				}
				for _, k := range tc.hasKeys {
					if _, ok := m[k]; !ok {
						t.Errorf("no %q: %v", k, m)
					}
				}
			}
			for _, k := range keys(fromCLI) {
				if !strings.Contains(section, `"`+k+`"`) {
					t.Errorf("docs/reference.md's history, diff section does not name the key %q", k)
				}
			}
		})
	}
}

// TestDiffFamilyOfAFirstRun: diff MODEL of a run into an empty database
// speaks of MODEL's family (or the ecosystem), not of everything the run
// stored; diff without MODEL of the whole run. The API's JSON says the
// same (all_new, of the model).
func TestDiffFamilyOfAFirstRun(t *testing.T) {
	tests := []struct {
		name, api string
		cli       []string
		says      string
		model     string
	}{
		{"the whole run", "/api/v1/diff?run=1", []string{"diff", "--run", "1"},
			"started from an empty database: all 6 models and 7 edges it stored are new\n", ""},
		{"a family", "/api/v1/diff?run=1&model=a/ft", []string{"diff", "--run", "1", "a/ft"},
			"started from an empty database: every model of the family of a/ft is new (the run logged no changes to list)\n", "a/ft"},
		{"an ecosystem", "/api/v1/diff?run=1&model=a/*", []string{"diff", "--run", "1", "a/*"},
			"started from an empty database: every model of the ecosystem a/* is new (the run logged no changes to list)\n", "a/*"},
	}
	got := make([]string, len(tests))
	_, base := parityDB(t, func(db string) {
		for i, tc := range tests {
			code, stdout, stderr := cli(t, append(tc.cli, "--db", db)...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.cli, code, stderr)
			}
			got[i] = stdout
		}
	})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.HasSuffix(got[i], tc.says) || tc.model != "" && strings.Contains(got[i], "models and") {
				t.Errorf("CLI %v:\n%s\nwant it ending %q", tc.cli, got[i], tc.says)
			}
			_, body := apiGet(t, base+tc.api)
			var d struct {
				AllNew bool   `json:"all_new"`
				Model  string `json:"model"`
			}
			if err := json.Unmarshal([]byte(body), &d); err != nil || !d.AllNew || d.Model != tc.model {
				t.Errorf("API %s: %s; want all_new of model %q", tc.api, body, tc.model)
			}
		})
	}
}
