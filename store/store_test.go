package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

func memStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// put stores models, each with the parents that es give it.
func put(t *testing.T, s *Store, ms []graph.Model, es []graph.Edge) {
	t.Helper()
	parents := map[graph.ModelID][]graph.Parent{}
	for _, e := range es {
		parents[e.Child] = append(parents[e.Child], graph.Parent{ID: e.Parent, Relation: e.Relation})
	}
	err := s.Update(func(tx *Tx) error {
		for _, m := range ms {
			if err := tx.PutModel(m, parents[m.ID]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPrefixesDoNotConfuseIDs(t *testing.T) {
	s := memStore(t)
	put(t, s, []graph.Model{{ID: "org/model"}, {ID: "org/model-v2"}, {ID: "c1"}, {ID: "c2"}, {ID: "c3"}},
		[]graph.Edge{edge("org/model", "c1", graph.Finetune), edge("org/model-v2", "c2", graph.Adapter), edge("org/model.v3", "c3", graph.Merge)})
	err := s.View(context.Background(), func(r *Reader) error {
		var got []graph.Edge
		r.ChildEdges("org/model", func(e graph.Edge) error { got = append(got, e); return nil })
		if want := []graph.Edge{edge("org/model", "c1", graph.Finetune)}; !slices.Equal(got, want) {
			t.Errorf("children of org/model = %v, want %v", got, want)
		}
		got = nil
		r.ParentEdges("c2", func(e graph.Edge) error { got = append(got, e); return nil })
		if want := []graph.Edge{edge("org/model-v2", "c2", graph.Adapter)}; !slices.Equal(got, want) {
			t.Errorf("parents of c2 = %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	s := memStore(t)
	put(t, s, []graph.Model{{ID: "meta-llama/Llama-3.1-8B"}, {ID: "Case/Twin"}, {ID: "case/twin"}}, nil)
	if err := s.Update(func(tx *Tx) error { return tx.PutAlias("meta-llama/Meta-Llama-3.1-8B", "meta-llama/Llama-3.1-8B") }); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"},
		{"META-LLAMA/llama-3.1-8b", "meta-llama/Llama-3.1-8B"},
		{"meta-llama/meta-llama-3.1-8b", "meta-llama/Llama-3.1-8B"},
		{"Case/Twin", "Case/Twin"}, // ids that differ only by case stay apart
		{"case/twin", "case/twin"},
		{"missing/model", ""},
	}
	for _, tt := range tests {
		got, err := s.Resolve(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Resolve(%q) = %q, %v; want ErrNotFound", tt.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestStubDoesNotOverwrite(t *testing.T) {
	s := memStore(t)
	put(t, s, []graph.Model{{ID: "c/d"}, {ID: "a/b", Downloads: 7}}, []graph.Edge{edge("a/b", "c/d", graph.Finetune)})
	s.View(context.Background(), func(r *Reader) error {
		m, err := r.Model("a/b")
		if err != nil || m.Stub || m.Downloads != 7 {
			t.Errorf("a/b = %+v, %v", m, err)
		}
		return nil
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()

	// A fresh directory becomes a database; a second opener is refused.
	db := filepath.Join(dir, "db")
	s, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, []graph.Model{{ID: "kept/model"}}, nil)
	if _, err := Open(db, Options{}); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "in use by another hflineage process") {
		t.Errorf("second open: %v, want ErrInUse", err)
	}
	s.Close()

	// A directory with other files.
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("hello"), 0o644)
	if _, err := Open(foreign, Options{}); !errors.Is(err, ErrNotDB) {
		t.Errorf("foreign dir: %v, want ErrNotDB", err)
	}
	// A file, not a directory.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Open(file, Options{}); !errors.Is(err, ErrNotDB) {
		t.Errorf("file: %v, want ErrNotDB", err)
	}
	// Reading a database that does not exist creates nothing.
	if _, err := Open(filepath.Join(dir, "nope"), Options{MustExist: true}); err == nil {
		t.Error("MustExist opened a missing database")
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Error("MustExist created a directory")
	}

	// Another schema version.
	s, err = Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.db.Update(func(txn *badgerTxn) error { return txn.Set(schemaKey, []byte("99")) })
	s.Close()
	if _, err := Open(db, Options{}); !errors.Is(err, ErrSchema) {
		t.Errorf("schema 99: %v, want ErrSchema", err)
	}
}

func TestDamagedDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	s, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, []graph.Model{{ID: "kept/model"}}, nil)
	s.Close()
	if err := os.WriteFile(filepath.Join(db, "MANIFEST"), []byte("garbage, not a manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(db, Options{})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged MANIFEST: %v, want ErrCorrupt", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestCrawlQueue(t *testing.T) {
	s := memStore(t)
	err := s.Update(func(tx *Tx) error {
		for _, p := range []Pending{{ID: "b", Depth: 1, Next: "u-b"}, {ID: "a", Depth: 1, Next: "u-a"}, {ID: "root", Depth: 0, Next: "u-root"}, {ID: "z", Depth: 2, Next: "u-z"}} {
			if isNew, err := tx.Enqueue(p.ID, p.Depth, p.Next); err != nil || !isNew {
				t.Errorf("Enqueue(%v) = %v, %v", p, isNew, err)
			}
		}
		if isNew, _ := tx.Enqueue("a", 3, "again"); isNew {
			t.Error("a enqueued twice")
		}
		if isNew, _ := tx.MarkSeen("b", 5); isNew {
			t.Error("b marked new twice")
		}
		return tx.SetNext("a", 1, "u-a-2")
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.NextPending(nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pending{{ID: "root", Depth: 0, Next: "u-root"}, {ID: "a", Depth: 1, Next: "u-a-2"}, {ID: "b", Depth: 1, Next: "u-b"}, {ID: "z", Depth: 2, Next: "u-z"}}
	if !slices.Equal(got, want) {
		t.Errorf("queue = %v, want %v", got, want)
	}
	got, _ = s.NextPending(&want[1], 1)
	if !slices.Equal(got, want[2:3]) {
		t.Errorf("after a: %v", got)
	}
	s.Update(func(tx *Tx) error { return tx.Done("root", 0) })
	got, _ = s.NextPending(nil, 1)
	if got[0].ID != "a" {
		t.Errorf("after Done(root): %v", got)
	}
	if err := s.ClearCrawl(); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.NextPending(nil, 10); len(got) != 0 {
		t.Errorf("after ClearCrawl: %v", got)
	}
}

func FuzzEdgeKey(f *testing.F) {
	f.Add("org/model", "child", "finetune")
	f.Add("a", "b", "merge")
	f.Fuzz(func(t *testing.T, p, c, r string) {
		e := graph.Edge{Parent: graph.ModelID(p), Child: graph.ModelID(c), Relation: graph.Relation(r)}
		got, err := DecodeEdgeKey(EdgeKey(e))
		valid := p != "" && c != "" && r != "" && !strings.ContainsRune(p+c+r, 0)
		// Ids with NUL or empty parts are never stored; for them decoding
		// need only not panic.
		if valid && (err != nil || got != e) {
			t.Fatalf("round trip of %v: %v, %v", e, got, err)
		}
	})
}

func FuzzDecodeEdgeKey(f *testing.F) {
	f.Add([]byte("e\x00a\x00b\x00finetune"))
	f.Add([]byte("e\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, k []byte) {
		e, err := DecodeEdgeKey(k)
		if err == nil && string(EdgeKey(e)) != string(k) {
			t.Fatalf("%q decoded to %v which encodes differently", k, e)
		}
	})
}

type badgerTxn = badger.Txn

func edge(p, c graph.ModelID, r graph.Relation) graph.Edge {
	return graph.Edge{Parent: p, Child: c, Relation: r}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []record{
		{},
		{Model: graph.Model{ID: "a/b", Stub: true}},
		{Model: graph.Model{ID: "meta-llama/Llama-3.1-8B", Author: "meta-llama", Downloads: 123456789, Likes: -1,
			CreatedAt: time.Date(2024, 7, 18, 8, 56, 0, 123, time.UTC), LastModified: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
			LibraryName: "transformers", PipelineTag: "text-generation", Gated: "manual", License: "llama3.1",
			Tags: []string{"x", "", "base_model:finetune:a/b"}},
			Parents: []graph.Parent{{ID: "a/b", Relation: "finetune"}, {ID: "c", Relation: "merge"}}, Run: 42},
	} {
		var got record
		if err := decodeRecord(encodeRecord(&r), &got, false); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(&record{Model: graph.Model{ID: "a/b", Tags: []string{"t"}}, Parents: []graph.Parent{{ID: "c", Relation: "merge"}}}))
	f.Add([]byte{1, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r record
		if decodeRecord(b, &r, false) == nil {
			var again record
			if err := decodeRecord(encodeRecord(&r), &again, false); err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("re-encoding %q: %v", b, err)
			}
		}
		decodeRecord(b, &r, true)
	})
}

func TestEdgeCacheFollowsChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put(t, s, []graph.Model{{ID: "r"}, {ID: "a"}}, []graph.Edge{edge("r", "a", graph.Finetune)})
	count := func() int {
		g, err := s.CachedEdgeGraph(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		i, ok := g.Index("r")
		if !ok {
			return 0
		}
		return g.NewWalker().Count(i, nil).Descendants.Total
	}
	if n := count(); n != 1 {
		t.Fatalf("count %d", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "edges.csr")); err != nil {
		t.Fatalf("cache not written: %v", err)
	}
	put(t, s, []graph.Model{{ID: "b"}}, []graph.Edge{edge("a", "b", graph.Adapter)})
	if n := count(); n != 2 {
		t.Errorf("after a new edge the cache gave %d descendants, want 2", n)
	}
	// A damaged cache is rebuilt, never trusted.
	os.WriteFile(filepath.Join(dir, "edges.csr"), []byte("HFLCSR1\ngarbage"), 0o644)
	if n := count(); n != 2 {
		t.Errorf("damaged cache: %d", n)
	}
}

func TestGraphCacheFollowsModelChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put(t, s, []graph.Model{{ID: "r", Downloads: 5, License: "mit"}, {ID: "a"}}, []graph.Edge{edge("r", "a", graph.Finetune)})
	downloads := func() int64 {
		g, _, err := s.VersionedGraph(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		i, _ := g.Index("r")
		return g.Model(i).Downloads
	}
	if d := downloads(); d != 5 {
		t.Fatalf("downloads %d", d)
	}
	put(t, s, []graph.Model{{ID: "r", Downloads: 9, License: "mit"}}, nil) // no edge change
	if d := downloads(); d != 9 {
		t.Errorf("after a model change the cache gave %d downloads, want 9", d)
	}
	g, _, _ := s.VersionedGraph(context.Background())
	if i, _ := g.Index("r"); g.Model(i).License != "mit" || g.EdgeCount() != 1 {
		t.Errorf("cached graph: %+v, %d edges", g.Model(i), g.EdgeCount())
	}
}

// TestFamilyAboveSeekBudget checks that a family too large to follow key by
// key is read from the cached edge graph with the same answer.
func TestFamilyAboveSeekBudget(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ms []graph.Model
	var es []graph.Edge
	ms = append(ms, graph.Model{ID: "root"})
	for i := 0; i < seekBudget+500; i++ {
		id := graph.ModelID(fmt.Sprintf("m/%d", i))
		parent := graph.ModelID("root")
		if i >= 10 {
			parent = graph.ModelID(fmt.Sprintf("m/%d", i/10))
		}
		ms = append(ms, graph.Model{ID: id})
		es = append(es, edge(parent, id, graph.Finetune))
	}
	put(t, s, ms, es)
	c, err := s.FamilyCount(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Family(context.Background(), "root", -1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Descendants.Total != seekBudget+500 || f.Count() != c {
		t.Errorf("FamilyCount %+v, Family.Count %+v", c, f.Count())
	}
	if g, _ := s.Family(context.Background(), "root", 1); len(g.Members) != 11 {
		t.Errorf("depth 1: %d members, want 11", len(g.Members))
	}
}
