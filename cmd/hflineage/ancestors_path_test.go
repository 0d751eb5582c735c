package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestAncestorsAlongPaths: ancestors lists each ancestor under the one it
// descends through (not by distance, then name), with the distances
// aligned once they reach 10; --json keeps its order (nearest first).
func TestAncestorsAlongPaths(t *testing.T) {
	w := hubtest.NewWorld()
	add := func(id string, parents ...hubtest.Parent) {
		w.Add(hubtest.Model{ID: id, Tags: hubtest.ParentTags(parents...)})
	}
	// o/leaf ← a/p ← a/c2 ← … ← a/c12, and o/leaf ← m/q ← b/x → a/p.
	add("a/c12")
	for k := 11; k >= 2; k-- {
		add(fmt.Sprintf("a/c%d", k), pt(fmt.Sprintf("a/c%d", k+1), "finetune"))
	}
	add("b/x")
	add("a/p", pt("a/c2", "finetune"), pt("b/x", "merge"))
	add("m/q", pt("b/x", "finetune"))
	add("o/leaf", pt("a/p", "merge"), pt("m/q", "merge"))
	srv := hubtest.NewServer(w)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "a/c12", "b/x"); code != 0 {
		t.Fatalf("crawl: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "ancestors", "--db", db, "o/leaf")
	if code != 0 {
		t.Fatalf("ancestors: exit %d: %s", code, stderr)
	}
	list, _, _ := strings.Cut(stdout, "edges:\n")
	want := `o/leaf
   1  a/p
   2  a/c2
   3  a/c3
   4  a/c4
   5  a/c5
   6  a/c6
   7  a/c7
   8  a/c8
   9  a/c9
  10  a/c10
  11  a/c11
  12  a/c12
   2  b/x
   1  m/q
`
	if list != want {
		t.Errorf("ancestors:\n%swant:\n%s", list, want)
	}
	code, stdout, _ = cli(t, "ancestors", "--db", db, "--json", "o/leaf")
	if code != 0 || !strings.HasPrefix(stdout, `{"model":"o/leaf","ancestors":[{"model":"a/p","distance":1},{"model":"m/q","distance":1},{"model":"a/c2","distance":2},{"model":"b/x","distance":2},`) {
		t.Errorf("ancestors --json (nearest first, then by id) changed: %s", stdout)
	}
	code, stdout, _ = cli(t, "ancestors", "--db", db, "a/c3")
	if want := "a/c3\n  1  a/c4\n"; code != 0 || !strings.HasPrefix(stdout, want) || !strings.Contains(stdout, "\n  9  a/c12\nedges:") {
		t.Errorf("ancestors below 10 keep one column:\n%s", stdout)
	}
}
