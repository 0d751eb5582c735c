package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

func pt(id, rel string) hubtest.Parent { return hubtest.Parent{ID: id, Relation: rel} }

func testWorld() *hubtest.World {
	w := hubtest.NewWorld()
	add := func(id string, parents ...hubtest.Parent) {
		w.Add(hubtest.Model{ID: id, Downloads: int64(len(id)), Tags: append([]string{"license:llama3.1"}, hubtest.ParentTags(parents...)...)})
	}
	add("meta-llama/Llama-3.1-8B")
	add("a/ft", pt("meta-llama/Llama-3.1-8B", "finetune"))
	add("b/lora", pt("meta-llama/Llama-3.1-8B", "adapter"))
	add("c/gguf", pt("a/ft", "quantized"))
	add("d/merge", pt("a/ft", "merge"), pt("x/outside", "merge"))
	add("e/loop", pt("c/gguf", "finetune"), pt("e/loop", "finetune"))
	w.Rename("meta-llama/Meta-Llama-3.1-8B", "meta-llama/Llama-3.1-8B")
	return w
}

// referenceSection returns the text of the "### name" section of
// docs/reference.md (the command reference the README links to), up to the
// next heading of that level, for tests that run its examples.
func referenceSection(t *testing.T, name string) string {
	t.Helper()
	reference, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(reference), "\n### "+name+"\n")
	if !ok {
		t.Fatalf("docs/reference.md has no section %q", name)
	}
	section, _, _ = strings.Cut(section, "\n### ")
	return section
}

// cli runs hflineage in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	code = exitCode(err, &errb)
	return code, out.String(), errb.String()
}

func TestCrawlCountAncestorsExport(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")

	code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/meta-llama-3.1-8b")
	if code != 0 {
		t.Fatalf("crawl exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "crawl: 6 models") {
		t.Errorf("summary line missing: %q", stderr)
	}

	code, stdout, stderr := cli(t, "count", "--db", db, "--json", "META-LLAMA/Meta-Llama-3.1-8B")
	if code != 0 {
		t.Fatalf("count exit %d: %s", code, stderr)
	}
	want := `{"model":"meta-llama/Llama-3.1-8B","children":{"adapter":1,"finetune":1,"merge":0,"quantized":0,"total":2},"descendants":{"adapter":1,"finetune":2,"merge":1,"quantized":1,"total":5},"max_depth":3,"complete":true,"downloads":29,"downloads_all_time":29,"members_without_all_time":0,"likes":0}` + "\n"
	if stdout != want {
		t.Errorf("count --json =\n%s\nwant\n%s", stdout, want)
	}

	code, stdout, _ = cli(t, "count", "--db", db, "meta-llama/Llama-3.1-8B")
	if code != 0 || !strings.Contains(stdout, "max depth: 3") || !strings.Contains(stdout, "total") {
		t.Errorf("count table (exit %d):\n%s", code, stdout)
	}

	code, stdout, stderr = cli(t, "ancestors", "--db", db, "--json", "e/loop")
	if code != 0 {
		t.Fatalf("ancestors exit %d: %s", code, stderr)
	}
	var anc query.Ancestry
	if err := json.Unmarshal([]byte(stdout), &anc); err != nil {
		t.Fatal(err)
	}
	if len(anc.Ancestors) != 3 || anc.Ancestors[2].Model != "meta-llama/Llama-3.1-8B" || anc.Ancestors[2].Distance != 3 ||
		len(anc.Roots) != 1 || anc.Roots[0] != "meta-llama/Llama-3.1-8B" {
		t.Errorf("ancestors = %+v", anc)
	}

	dot := filepath.Join(t.TempDir(), "llama.dot")
	code, _, stderr = cli(t, "export", "--db", db, "--format", "dot", "--root", "meta-llama/Llama-3.1-8B", "-o", dot)
	if code != 0 {
		t.Fatalf("export exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(dot)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "x/outside") || !strings.Contains(string(b), `"a/ft" -> "d/merge"`) {
		t.Errorf("family export:\n%s", b)
	}
	code, stdout, _ = cli(t, "export", "--db", db, "--format", "dot")
	if code != 0 || !strings.Contains(stdout, `"x/outside" -> "d/merge"`) {
		t.Errorf("whole-graph export (exit %d) lacks the co-parent edge:\n%s", code, stdout)
	}
	code, stdout, _ = cli(t, "export", "--db", db, "--format", "dot", "--root", "meta-llama/Llama-3.1-8B", "--max-nodes", "3")
	if code != 0 || strings.Count(stdout, "[label=\"") != 3 { // the nodes, no legend
		t.Errorf("--max-nodes 3 (exit %d):\n%s", code, stdout)
	}
}

func TestExitCodes(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, 2, "no command"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"count", "--nope", "a/b"}, 2, "unknown flag --nope"},
		{"invalid id", []string{"crawl", "--db", db, "--endpoint", srv.URL, "bad id/x"}, 2, "invalid model id"},
		{"invalid id double dash", []string{"crawl", "--db", db, "--endpoint", srv.URL, "a/b--c"}, 2, "invalid model id"},
		{"no model", []string{"crawl", "--db", db}, 2, "name at least one MODEL"},
		{"bad format", []string{"export", "--db", db, "--format", "svgz"}, 2, "unknown --format"},
		{"bad endpoint", []string{"crawl", "--db", db, "--endpoint", "ftp://x", "a/b"}, 2, "invalid endpoint"},
		{"unknown seed", []string{"crawl", "--db", db, "--endpoint", srv.URL, "nobody/nothing", "b/lora"}, 1, "seed nobody/nothing skipped: model not found on the Hub"},
		{"count missing db", []string{"count", "--db", filepath.Join(t.TempDir(), "none"), "a/b"}, 1, "does not exist"},
		{"count unknown model", []string{"count", "--db", db, "zz/top"}, 1, "not in the database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d containing %q", code, stderr, tt.code, tt.stderr)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace on stderr: %s", stderr)
			}
		})
	}
	// The known seed beside the unknown one was crawled.
	if code, stdout, _ := cli(t, "count", "--db", db, "--json", "b/lora"); code != 0 || !strings.Contains(stdout, `"model":"b/lora"`) {
		t.Errorf("b/lora not crawled: %d %s", code, stdout)
	}
}

func TestDatabaseInUseAndDamaged(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "a/ft"); code != 0 {
		t.Fatal(stderr)
	}
	held, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { holderWait = d }(holderWait)
	holderWait = 0 // the read says so at once (TestReadWaitsForAClosingHolder: it waits a while)
	code, _, stderr := cli(t, "count", "--db", db, "a/ft")
	held.Close()
	// (The process is named, and what to do: readduringcrawl_test.go.)
	if code != 1 || !strings.HasPrefix(stderr, "hflineage: database "+db+" is in use by another hflineage process (pid ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}

	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "thesis.tex"), []byte("x"), 0o644)
	code, _, stderr = cli(t, "crawl", "--db", foreign, "--endpoint", srv.URL, "a/ft")
	if code != 1 || !strings.Contains(stderr, "not an hflineage database") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("foreign dir: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(foreign, "thesis.tex")); string(b) != "x" {
		t.Error("foreign file touched")
	}

	if os.Getuid() != 0 { // root writes through permissions
		ro := filepath.Join(t.TempDir(), "ro")
		os.MkdirAll(ro, 0o555)
		code, _, stderr = cli(t, "crawl", "--db", ro, "--endpoint", srv.URL, "a/ft")
		if code != 1 || !strings.Contains(stderr, "not writable") {
			t.Errorf("read-only dir: exit %d, stderr %q", code, stderr)
		}
	}
}
