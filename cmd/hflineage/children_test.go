package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
)

// TestChildrenAndSearch: children and search print what the API's
// children and search answer (their --json is the same object), as tables;
// bad flags are usage errors.
func TestChildrenAndSearch(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatalf("crawl: exit %d: %s", code, stderr)
	}
	// testWorld's downloads are the ids' lengths.
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"children", "meta-llama/Llama-3.1-8B"}, `
meta-llama/Llama-3.1-8B: 2 children

downloads  likes  created     relation  child
        6      0  2024-01-01  adapter   b/lora
        4      0  2024-01-01  finetune  a/ft
`},
		{[]string{"children", "a/ft", "--relation", "merge"}, `
a/ft: 1 merge child

downloads  likes  created     relation  child
        7      0  2024-01-01  merge     d/merge
`},
		{[]string{"children", "a/ft", "--limit", "1"}, `
a/ft: 2 children

downloads  likes  created     relation  child
        7      0  2024-01-01  merge     d/merge
… 1 more: add --cursor MQ
`},
		{[]string{"children", "a/ft", "--limit", "1", "--cursor", "MQ"}, `
a/ft: 2 children

downloads  likes  created     relation   child
        6      0  2024-01-01  quantized  c/gguf
`},
		{[]string{"children", "b/lora", "--relation", "merge"}, `
b/lora: no merge children in the database
`},
		{[]string{"children", "b/lora"}, `
b/lora: no children in the database
`},
		{[]string{"search", "LOOP"}, `
downloads  model
        6  e/loop
`},
		{[]string{"search", "a", "--limit", "2"}, `
downloads  model
        4  a/ft
       23  meta-llama/Llama-3.1-8B
… more models match: --limit N lists up to 100
`},
		{[]string{"search", "nothing-like-it"}, `
no model in the database matches "nothing-like-it"
`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, append(tt.args, "--db", db)...)
			if code != 0 || stdout != strings.TrimPrefix(tt.want, "\n") {
				t.Errorf("exit %d, stderr %q, stdout:\n%swant:%s", code, stderr, stdout, tt.want)
			}
		})
	}

	code, stdout, stderr := cli(t, "children", "--db", db, "--json", "--sort", "created", "a/ft")
	var c query.Children
	if code != 0 || json.Unmarshal([]byte(stdout), &c) != nil || c.Model != "a/ft" || c.Total != 2 || len(c.Children) != 2 {
		t.Errorf("children --json: exit %d, %q: %s", code, stderr, stdout)
	}
	code, stdout, stderr = cli(t, "search", "--db", db, "--json", "gguf")
	if want := `{"results":[{"id":"c/gguf","downloads":6}]}` + "\n"; code != 0 || stdout != want {
		t.Errorf("search --json: exit %d, %q: %s, want %s", code, stderr, stdout, want)
	}

	for _, args := range [][]string{
		{"children"},
		{"children", "a/ft", "--relation", "cousin"},
		{"children", "a/ft", "--limit", "0"},
		{"children", "a/ft", "--sort", "size"},
		{"children", "a/ft", "--cursor", "!!"},
		{"search"},
		{"search", "a", "--limit", "101"},
	} {
		if code, _, stderr := cli(t, append(args, "--db", db)...); code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, %q; want a usage error", args, code, stderr)
		}
	}
}
