package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestPictureLimit: a picture larger than the CLI's limit without
// --max-nodes is refused before Graphviz starts (sfdp took over 10 minutes
// for a 200,000-model database and was killed), saying how to get one;
// any --max-nodes given is drawn.
func TestPictureLimit(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz not installed")
	}
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatalf("crawl: %s", stderr)
	}
	defer func(n int) { cliPictureLimit = n }(cliPictureLimit)
	cliPictureLimit = 3
	out := filepath.Join(t.TempDir(), "f.svg")
	code, _, stderr := cli(t, "export", "--db", db, "-o", out)
	if code != exitUsage || !strings.Contains(stderr, "would take Graphviz hours") || !strings.Contains(stderr, "--max-nodes") {
		t.Errorf("a picture over the limit: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, "export", "--db", db, "--max-nodes", "50", "-o", out); code != 0 {
		t.Errorf("with --max-nodes: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, "export", "--db", db, "--format", "dot"); code != 0 {
		t.Errorf("DOT is not limited: exit %d: %s", code, stderr)
	}
}

// TestFormatDidYouMean: a misspelt --format is answered with the nearest
// format, as misspelt commands and flags are; one near none lists them.
func TestFormatDidYouMean(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct{ format, want string }{
		{"dto", `hflineage: export: unknown --format "dto" — did you mean "dot"?`},
		{"graphlm", `hflineage: export: unknown --format "graphlm" — did you mean "graphml"?`},
		{"zzz", `hflineage: export: unknown --format "zzz" (want dot, graphml`},
	} {
		code, _, stderr := cli(t, "export", "--db", db, "--format", tc.format)
		if code != exitUsage || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("--format %s: exit %d: %s", tc.format, code, stderr)
		}
	}
}
