package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
)

// TestTree: tree prints the family as npm ls does, children by
// descendants then id, "… and N more" past --max, a model reached again
// "(see above)"; --json is the nested structure; bad flags are usage
// errors.
func TestTree(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatalf("crawl: exit %d: %s", code, stderr)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"meta-llama/Llama-3.1-8B"}, `
meta-llama/Llama-3.1-8B (5 descendants)
├── a/ft (finetune, 3 descendants)
│   ├── c/gguf (quantized, 1 descendant)
│   └── d/merge (merge, 0 descendants)
└── b/lora (adapter, 0 descendants)
`},
		{[]string{"meta-llama/Llama-3.1-8B", "--depth", "4", "--max", "1"}, `
meta-llama/Llama-3.1-8B (5 descendants)
├── a/ft (finetune, 3 descendants)
│   ├── c/gguf (quantized, 1 descendant)
│   │   └── e/loop (finetune, 0 descendants)
│   │       └── e/loop (finetune, 0 descendants) (see above)
│   └── … and 1 more
└── … and 1 more
`},
		{[]string{"meta-llama/Llama-3.1-8B", "--depth", "9", "--relation", "quantized"}, `
meta-llama/Llama-3.1-8B (5 descendants)
`},
		{[]string{"a/ft", "--depth", "1", "--relation", "merge"}, `
a/ft (3 descendants)
└── d/merge (merge, 0 descendants)
`},
		{[]string{"b/lora"}, `
b/lora (0 descendants)
`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, append([]string{"tree", "--db", db}, tt.args...)...)
			if code != 0 || stdout != strings.TrimPrefix(tt.want, "\n") {
				t.Errorf("exit %d, stderr %q, stdout:\n%swant:%s", code, stderr, stdout, tt.want)
			}
		})
	}

	code, stdout, stderr := cli(t, "tree", "--db", db, "--json", "--depth", "3", "meta-llama/Llama-3.1-8B")
	if code != 0 {
		t.Fatalf("tree --json: exit %d: %s", code, stderr)
	}
	var tree query.Tree
	if err := json.Unmarshal([]byte(stdout), &tree); err != nil {
		t.Fatal(err)
	}
	if r := tree.Tree; !tree.Complete || r.ID != "meta-llama/Llama-3.1-8B" || r.Descendants != 5 || len(r.Children) != 2 ||
		r.Children[0].ID != "a/ft" || len(r.Children[0].Children) != 2 || r.Children[0].Children[0].Children[0].ID != "e/loop" {
		t.Errorf("tree --json = %s", stdout)
	}

	for _, args := range [][]string{
		{"--depth", "0", "a/ft"},
		{"--max", "-1", "a/ft"},
		{"--relation", "cousin", "a/ft"},
		{},
		{"a/ft", "b/lora"},
	} {
		if code, _, stderr := cli(t, append([]string{"tree", "--db", db}, args...)...); code != 2 || !strings.Contains(stderr, "tree") {
			t.Errorf("tree %v: exit %d, %q; want a usage error", args, code, stderr)
		}
	}
	if code, _, stderr := cli(t, "tree", "--db", db, "no/such-model"); code != 1 || !strings.Contains(stderr, "not in the database") {
		t.Errorf("tree of an unknown model: exit %d, %q", code, stderr)
	}
}
