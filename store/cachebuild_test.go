package store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// TestEncodeCacheMatchesLoadGraph checks that the cache files built by
// streaming scans hold the graphs LoadGraph and EdgeGraph build in memory:
// the same nodes with the same attributes, the same edges, on stores with
// ids that share prefixes, self-loops, stubs, several relations between
// one pair, and edges whose endpoints have no record at all.
func TestEncodeCacheMatchesLoadGraph(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			s := memStore(t)
			rng := rand.New(rand.NewPCG(seed, 2))
			n := 50 + rng.IntN(300)
			id := func(i int) graph.ModelID {
				return graph.ModelID(fmt.Sprintf("org-%d/m%d", i%7, i/3)) // org-1/m1 and org-1/m10 share a prefix
			}
			var ms []graph.Model
			var es []graph.Edge
			rels := []graph.Relation{graph.Finetune, graph.Adapter, graph.Merge, graph.Quantized, "weird"}
			for i := 0; i < n; i++ {
				m := graph.Model{ID: id(i), Author: fmt.Sprint("a", rng.IntN(5)), License: []string{"", "mit", "apache-2.0"}[rng.IntN(3)],
					Downloads: rng.Int64N(1000), Likes: rng.Int64N(50)}
				if rng.IntN(2) == 0 {
					m.CreatedAt = time.Unix(1.6e9+rng.Int64N(1e8), 0)
				}
				ms = append(ms, m)
				for k := rng.IntN(3); k > 0; k-- {
					p := id(rng.IntN(n + 20)) // some parents are never stored: stubs
					es = append(es, edge(p, m.ID, rels[rng.IntN(len(rels))]))
				}
			}
			put(t, s, ms, es)
			// Edges between ids that have no record.
			err := s.db.Update(func(txn *badger.Txn) error {
				for _, e := range []graph.Edge{edge("zz/orphan", "aa/orphan", graph.Finetune), edge(id(1), "zz/orphan-child", graph.Adapter)} {
					if err := txn.Set(EdgeKey(e), nil); err != nil {
						return err
					}
					if err := txn.Set(parentKey(e), nil); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// The scan's graph: every model, no attributes.
			sg, err := s.ScanGraph(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lg, err := s.LoadGraph(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if sg.Len() != lg.Len() || sg.EdgeCount() != lg.EdgeCount() || sg.Nodes != nil || !sg.Sorted() {
				t.Fatalf("ScanGraph: %d nodes, %d edges; LoadGraph %d, %d", sg.Len(), sg.EdgeCount(), lg.Len(), lg.EdgeCount())
			}
			for i := 0; i < lg.Len(); i++ {
				j, ok := sg.Index(lg.ID(i))
				if !ok || sg.OutDegree(j) != lg.OutDegree(i) {
					t.Fatalf("ScanGraph: %s found %v, out-degree %d, want %d", lg.ID(i), ok, sg.OutDegree(j), lg.OutDegree(i))
				}
			}
			var se, le []graph.Edge
			sg.Edges(func(e graph.Edge) { se = append(se, e) })
			lg.Edges(func(e graph.Edge) { le = append(le, e) })
			slices.SortFunc(se, cmpEdge)
			slices.SortFunc(le, cmpEdge)
			if !slices.Equal(se, le) {
				t.Errorf("ScanGraph's edges differ from LoadGraph's")
			}
			for _, withNodes := range []bool{false, true} {
				var want *graph.Graph
				if withNodes {
					want, err = s.LoadGraph(ctx, true)
				} else {
					want, err = s.EdgeGraph(ctx)
				}
				if err != nil {
					t.Fatal(err)
				}
				w, _, err := s.encodeCache(ctx, dataVersionKey, withNodes)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := w.WriteTo(&buf, 3); err != nil {
					t.Fatal(err)
				}
				got, tag, err := graph.UnmarshalCSR(buf.Bytes())
				if err != nil || tag != 3 || !got.Sorted() {
					t.Fatalf("withNodes %v: decode: tag %d, sorted %v, %v", withNodes, tag, got != nil && got.Sorted(), err)
				}
				if got.Len() != want.Len() || got.EdgeCount() != want.EdgeCount() {
					t.Fatalf("withNodes %v: %d nodes, %d edges; want %d, %d", withNodes, got.Len(), got.EdgeCount(), want.Len(), want.EdgeCount())
				}
				for i := 0; i < want.Len(); i++ {
					j, ok := got.Index(want.ID(i))
					if !ok {
						t.Fatalf("withNodes %v: %s missing", withNodes, want.ID(i))
					}
					if gm, wm := got.Model(j), want.Model(i); !gm.CreatedAt.Equal(wm.CreatedAt) || gm.Author != wm.Author || gm.License != wm.License ||
						gm.Downloads != wm.Downloads || gm.Likes != wm.Likes || gm.Stub != wm.Stub {
						t.Errorf("withNodes %v: %s is %+v, want %+v", withNodes, wm.ID, gm, wm)
					}
				}
				var ge, we []graph.Edge
				got.Edges(func(e graph.Edge) { ge = append(ge, e) })
				want.Edges(func(e graph.Edge) { we = append(we, e) })
				slices.SortFunc(ge, cmpEdge)
				slices.SortFunc(we, cmpEdge)
				if !slices.Equal(ge, we) {
					t.Errorf("withNodes %v: edges differ:\n got %v\nwant %v", withNodes, ge, we)
				}
			}
		})
	}
}

func cmpEdge(a, b graph.Edge) int {
	return cmp.Or(cmp.Compare(a.Parent, b.Parent), cmp.Compare(a.Child, b.Child), cmp.Compare(a.Relation, b.Relation))
}

// TestRefreshCachesWritesCurrentFiles checks that RefreshCaches writes
// both cache files at the database's versions, and leaves a current file
// alone.
func TestRefreshCachesWritesCurrentFiles(t *testing.T) {
	dir := t.TempDir() + "/db"
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put(t, s, []graph.Model{{ID: "r", Downloads: 3}, {ID: "a"}}, []graph.Edge{edge("r", "a", graph.Finetune)})
	ctx := context.Background()
	if err := s.RefreshCaches(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		key  []byte
	}{{edgeCacheFile, edgeVersionKey}, {graphCacheFile, dataVersionKey}} {
		v, _ := s.readVersion(c.key)
		if tag, ok := fileTag(dir + "/" + c.file); !ok || tag != v {
			t.Errorf("%s: tag %d (%v), want %d", c.file, tag, ok, v)
		}
	}
	g, _, err := s.VersionedGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := g.Index("r"); !ok || g.Model(i).Downloads != 3 || g.EdgeCount() != 1 {
		t.Errorf("graph.bin: r found %v, %+v, %d edges", ok, g.Model(i), g.EdgeCount())
	}
}

// TestReleaseTablePages checks that handing the mapped pages back loses
// nothing: the database reads the same before and after, and keeps
// writing.
func TestReleaseTablePages(t *testing.T) {
	dir := t.TempDir() + "/db"
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var ms []graph.Model
	for i := 0; i < 2000; i++ {
		ms = append(ms, graph.Model{ID: graph.ModelID(fmt.Sprintf("org/m-%d", i)), Downloads: int64(i)})
	}
	put(t, s, ms, nil)
	if err := s.Close(); err != nil { // the memtable goes to a table file, which Badger maps
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := 0; round < 3; round++ {
		s.ReleaseTablePages()
		n := 0
		err := s.View(context.Background(), func(r *Reader) error {
			return r.Models(func(m graph.Model) error {
				if want := fmt.Sprintf("org/m-%d", m.Downloads); string(m.ID) != want {
					return fmt.Errorf("%s has downloads %d", m.ID, m.Downloads)
				}
				n++
				return nil
			})
		})
		if err != nil || n != len(ms) {
			t.Fatalf("round %d: %d models, %v", round, n, err)
		}
		put(t, s, []graph.Model{{ID: graph.ModelID(fmt.Sprintf("org/m-%d", round)), Downloads: int64(round)}}, nil)
	}
	// A read-only open takes the other advice (MADV_DONTNEED): the same.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for round := 0; round < 2; round++ {
		ro.ReleaseTablePages()
		n := 0
		if err := ro.View(context.Background(), func(r *Reader) error {
			return r.Models(func(graph.Model) error { n++; return nil })
		}); err != nil || n != len(ms) {
			t.Fatalf("read-only round %d: %d models, %v", round, n, err)
		}
	}
}
