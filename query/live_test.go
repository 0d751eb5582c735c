package query_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// TestOpenReadsDuringWrites: an opened Engine answers every read while
// pages commit without rebuilding a whole graph from the database (the
// store counts its rebuilds), and once writing stops its answers equal
// those of an Engine that reads the database afresh.
func TestOpenReadsDuringWrites(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(7, 7))
	id := func(i int) graph.ModelID { return graph.ModelID(fmt.Sprintf("org%d/m%d", i%5, i)) }
	page := func(tx *store.Tx) error {
		for range 20 {
			i := 1 + r.IntN(400)
			var parents []graph.Parent
			if p := r.IntN(i); p < i && r.IntN(4) > 0 {
				parents = append(parents, graph.Parent{ID: id(p), Relation: graph.Relations[r.IntN(4)]})
			}
			m := graph.Model{ID: id(i), Author: id(i).Author(), Downloads: r.Int64N(1e6), CreatedAt: time.Unix(1.7e9+r.Int64N(1e7), 0)}
			if err := tx.PutModel(m, parents); err != nil {
				return err
			}
		}
		if r.IntN(5) == 0 {
			return tx.RemoveGone(id(1 + r.IntN(400)))
		}
		return nil
	}
	for range 10 {
		if err := st.Update(page); err != nil {
			t.Fatal(err)
		}
	}
	e, err := query.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	before := st.Rebuilds()

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the crawl
		defer wg.Done()
		defer close(done)
		for range 300 {
			if err := st.Update(page); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for {
		select {
		case <-done:
		default:
			for _, fn := range []func() error{
				func() error { _, err := e.Count(ctx, string(id(0))); return err },
				func() error { _, err := e.Search(ctx, "m1", 10); return err },
				func() error { _, err := e.Children(ctx, string(id(0)), query.ChildrenOptions{}); return err },
				func() error { _, err := e.Graph(ctx, string(id(0)), 150); return err },
				func() error { _, err := e.Stats(ctx, query.StatsOptions{}); return err },
				func() error { _, err := e.Stats(ctx, query.StatsOptions{Top: 3, Root: string(id(0))}); return err },
				func() error { _, err := e.Ancestors(ctx, string(id(0))); return err },
			} {
				if err := fn(); err != nil && !isUnknown(err) {
					t.Fatal(err)
				}
				reads++
			}
			continue
		}
		break
	}
	wg.Wait()
	if n := st.Rebuilds() - before; n != 0 {
		t.Fatalf("%d reads during the writes rebuilt the whole graph %d times", reads, n)
	}

	// Quiet now: the live answers equal a fresh engine's over the database.
	fresh := query.New(st)
	for i := range 401 {
		name := string(id(i))
		a, aerr := e.Count(ctx, name)
		b, berr := fresh.Count(ctx, name)
		if (aerr == nil) != (berr == nil) || !reflect.DeepEqual(a, b) {
			t.Fatalf("count %s: live %+v (%v), database %+v (%v)", name, a, aerr, b, berr)
		}
		if aerr != nil {
			continue
		}
		ca, err := e.Children(ctx, name, query.ChildrenOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		cb, err := fresh.Children(ctx, name, query.ChildrenOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ca, cb) {
			t.Fatalf("children %s: live %+v, database %+v", name, ca, cb)
		}
		aa, _ := e.Ancestors(ctx, name)
		ab, _ := fresh.Ancestors(ctx, name)
		if !reflect.DeepEqual(aa, ab) {
			t.Fatalf("ancestors %s: live %+v, database %+v", name, aa, ab)
		}
		for _, max := range []int{1, 5, 20, 1000} {
			ga, _ := e.Graph(ctx, name, max)
			gb, _ := fresh.Graph(ctx, name, max)
			if !reflect.DeepEqual(ga, gb) {
				t.Fatalf("graph %s: live %+v, database %+v", name, ga, gb)
			}
			if want := prunedView(t, fresh, name, max); !reflect.DeepEqual(ga, want) {
				t.Fatalf("graph %s (%d): %+v, pruned family %+v", name, max, ga, want)
			}
		}
	}
	// Statistics come from a view refreshed in the background: wait for
	// the one of the last version (told when it is stored), then compare.
	wait, cancel := context.WithTimeout(ctx, time.Minute) // fails a test that would hang
	defer cancel()
	if err := query.WaitView(wait, e, e.Snapshot().Version()); err != nil {
		t.Fatalf("no view of version %d: %v", e.Snapshot().Version(), err)
	}
	sa, err := e.Stats(ctx, query.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.VersionsBehind != 0 {
		t.Fatalf("the statistics are %d versions behind", sa.VersionsBehind)
	}
	sb, err := fresh.Stats(ctx, query.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa.DataVersion = 0
	if !reflect.DeepEqual(sa, sb) {
		t.Fatalf("stats: live %+v\ndatabase %+v", sa, sb)
	}
	ha, _ := e.Search(ctx, "m1", 20)
	hb, _ := fresh.Search(ctx, "m1", 20)
	if !reflect.DeepEqual(ha, hb) {
		t.Fatalf("search: live %+v, database %+v", ha, hb)
	}
}

func isUnknown(err error) bool { return err != nil && errors.Is(err, query.ErrUnknownModel) }

// prunedView is the graph view as graph.Family.Prune makes it: the
// reference the engine's walk over node numbers must equal.
func prunedView(t *testing.T, e *query.Engine, name string, maxNodes int) query.GraphView {
	t.Helper()
	ctx := context.Background()
	full, err := e.Family(ctx, name, -1)
	if err != nil {
		t.Fatal(err)
	}
	downloads := map[graph.ModelID]int64{}
	for _, m := range full.Members {
		c, err := e.Children(ctx, string(m), query.ChildrenOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range c.Children {
			downloads[k.ID] = k.Downloads
		}
	}
	if h, err := e.Search(ctx, string(full.Root), 100); err == nil {
		for _, hit := range h.Results {
			if hit.ID == full.Root {
				downloads[hit.ID] = hit.Downloads
			}
		}
	}
	f := full
	view := query.GraphView{Root: full.Root, Members: len(full.Members), Nodes: []query.GraphNode{}, Edges: []query.Edge{}}
	if maxNodes < len(full.Members) {
		if f, err = full.Prune(ctx, maxNodes, func(id graph.ModelID) int64 { return downloads[id] }); err != nil {
			t.Fatal(err)
		}
		view.Truncated = true
	}
	kept := map[graph.ModelID]bool{}
	for _, m := range f.Members {
		kept[m] = true
	}
	hidden := map[graph.ModelID]map[graph.ModelID]bool{}
	for _, ed := range full.Edges {
		if kept[ed.Parent] && !kept[ed.Child] {
			if hidden[ed.Parent] == nil {
				hidden[ed.Parent] = map[graph.ModelID]bool{}
			}
			hidden[ed.Parent][ed.Child] = true
		}
	}
	for _, m := range f.Members {
		view.Nodes = append(view.Nodes, query.GraphNode{ID: m, Downloads: downloads[m], Depth: f.Depth[m], HiddenChildren: len(hidden[m])})
	}
	for _, ed := range f.Edges {
		view.Edges = append(view.Edges, query.Edge{Parent: ed.Parent, Child: ed.Child, Relation: ed.Relation})
	}
	return view
}

// TestOpenWritesGraphCache: an opened Engine writes graph.bin from the
// graph it keeps (no rebuild after a crawl), byte for byte what the store
// builds from its records.
func TestOpenWritesGraphCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := func(i int) graph.ModelID { return graph.ModelID(fmt.Sprintf("org%d/m%d", i%3, i)) }
	page := func(from int) func(tx *store.Tx) error {
		return func(tx *store.Tx) error {
			for i := from; i < from+50; i++ {
				var parents []graph.Parent
				if i > 0 {
					parents = append(parents, graph.Parent{ID: w(i / 3), Relation: graph.Relations[i%4]})
				}
				m := graph.Model{ID: w(i), Author: w(i).Author(), Downloads: int64(i * 7), License: "mit", CreatedAt: time.Unix(1.7e9+int64(i), 0)}
				if err := tx.PutModel(m, parents); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := st.Update(page(0)); err != nil {
		t.Fatal(err)
	}
	e, err := query.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	for from := 50; from < 500; from += 50 {
		if err := st.Update(page(from)); err != nil {
			t.Fatal(err)
		}
	}
	before := st.Rebuilds()
	if err := st.RefreshCaches(ctx, true); err != nil { // what a crawl's end does
		t.Fatal(err)
	}
	if st.Rebuilds()-before != 1 {
		t.Fatalf("the crawl's tidy-up made %d whole-graph builds; want 1 (edges.csr only)", st.Rebuilds()-before)
	}
	e.Close()
	written, err := os.ReadFile(filepath.Join(dir, "graph.bin"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	// The store's own build, in a fresh process's store.
	os.Remove(filepath.Join(dir, "graph.bin"))
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.RefreshCaches(ctx, true); err != nil {
		t.Fatal(err)
	}
	built, err := os.ReadFile(filepath.Join(dir, "graph.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, built) {
		t.Fatalf("graph.bin written from memory (%d bytes) differs from the store's build (%d bytes)", len(written), len(built))
	}
}
