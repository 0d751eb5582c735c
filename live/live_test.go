package live_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/live"
	"github.com/hflineage/hflineage/store"
)

// world makes random pages of crawled models over a small set of ids, so
// that pages add, change and remove the same models and edges often.
type world struct {
	r   *rand.Rand
	ids []graph.ModelID
}

func newWorld(seed uint64, n int) *world {
	w := &world{r: rand.New(rand.NewPCG(seed, 1))}
	for i := range n {
		w.ids = append(w.ids, graph.ModelID(fmt.Sprintf("org-%d/model-%d", i%7, i)))
	}
	return w
}

func (w *world) id() graph.ModelID { return w.ids[w.r.IntN(len(w.ids))] }

// page writes one random page: models stored with random parents and
// attributes, a few removed.
func (w *world) page(tx *store.Tx) error {
	for range 1 + w.r.IntN(12) {
		if w.r.IntN(8) == 0 {
			if err := tx.RemoveGone(w.id()); err != nil {
				return err
			}
			if err := tx.DropOrphanStub(w.id()); err != nil {
				return err
			}
			continue
		}
		m := graph.Model{ID: w.id(), Author: "a" + fmt.Sprint(w.r.IntN(3)), Downloads: w.r.Int64N(1000), Likes: w.r.Int64N(50),
			License: []string{"", "mit", "apache-2.0"}[w.r.IntN(3)], CreatedAt: time.Unix(1.6e9+w.r.Int64N(1e8), 0)}
		var parents []graph.Parent
		for range w.r.IntN(3) {
			p := graph.Parent{ID: w.id(), Relation: graph.Relations[w.r.IntN(len(graph.Relations))]}
			if !slices.Contains(parents, p) {
				parents = append(parents, p)
			}
		}
		if err := tx.PutModel(m, parents); err != nil {
			return err
		}
	}
	return nil
}

// TestLiveEqualsDisk applies random pages through the store's commit hook
// and checks, after each, that the live graph equals a fresh load of the
// database; compactions run at random points, and readers read throughout
// (under -race, the check that they never see a page half applied).
func TestLiveEqualsDisk(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			st, err := store.OpenInMemory()
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			w := newWorld(seed, 40+int(seed)*30)
			// Some history before the live graph starts, so that its base
			// is not empty.
			for range 20 {
				if err := st.Update(w.page); err != nil {
					t.Fatal(err)
				}
			}
			base, v, err := st.VersionedGraph(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lg := live.New(base, v)
			var applyErr atomic.Value
			st.OnCommit(func(d graph.Delta) {
				if err := lg.Apply(d); err != nil {
					applyErr.Store(err)
				}
			})

			// Readers: every snapshot they see must be whole: the sum of
			// out-degrees equals its edge count, and every edge's child
			// lists the parent back.
			stop := make(chan struct{})
			var readers sync.WaitGroup
			var reads atomic.Int64
			for range 2 {
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if err := consistent(lg.Current()); err != nil {
							t.Error(err)
							return
						}
						reads.Add(1)
					}
				}()
			}

			for step := range 150 {
				if err := st.Update(w.page); err != nil {
					t.Fatal(err)
				}
				if w.r.IntN(25) == 0 {
					if _, _, err := lg.Compact(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if step%10 == 0 || step == 149 {
					same(t, ctx, st, lg.Current())
				}
			}
			// A compaction that runs while pages commit.
			done := make(chan error)
			go func() { _, _, err := lg.Compact(ctx); done <- err }()
			for range 20 {
				if err := st.Update(w.page); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			same(t, ctx, st, lg.Current())
			close(stop)
			readers.Wait()
			if err, _ := applyErr.Load().(error); err != nil {
				t.Fatal(err)
			}
			if reads.Load() == 0 {
				t.Fatal("the readers read nothing")
			}
		})
	}
}

// consistent checks that a snapshot's edge lists agree both ways and with
// its edge count.
func consistent(s *live.Snapshot) error {
	edges := 0
	for i := range int32(s.NodeCount()) {
		kids, rels := s.Out(i)
		edges += len(kids)
		for k, c := range kids {
			parents, prels := s.In(c)
			found := false
			for j, p := range parents {
				if p == i && prels[j] == rels[k] {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("version %d: edge %s→%s (%s) is not among the child's parents", s.Version(), s.NodeID(i), s.NodeID(c), rels[k])
			}
		}
	}
	if edges != s.Edges() {
		return fmt.Errorf("version %d: %d edges in the lists, %d counted", s.Version(), edges, s.Edges())
	}
	return nil
}

// same checks that the snapshot shows what the database holds: the same
// models with the same attributes, the same edges, the same counts.
func same(t *testing.T, ctx context.Context, st *store.Store, s *live.Snapshot) {
	t.Helper()
	disk, v, err := st.VersionedGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != v {
		t.Fatalf("snapshot of version %d, database at %d", s.Version(), v)
	}
	g, err := s.Graph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != disk.Len() || g.EdgeCount() != disk.EdgeCount() {
		t.Fatalf("version %d: live graph has %d nodes and %d edges, the database %d and %d", v, g.Len(), g.EdgeCount(), disk.Len(), disk.EdgeCount())
	}
	models, stubs := 0, 0
	for i := range disk.Len() {
		id := disk.ID(i)
		if g.ID(i) != id {
			t.Fatalf("node %d: live %s, database %s", i, g.ID(i), id)
		}
		if g.Nodes[i] != disk.Nodes[i] {
			t.Fatalf("%s: live %+v, database %+v", id, g.Nodes[i], disk.Nodes[i])
		}
		if disk.Nodes[i].Stub {
			stubs++
		} else {
			models++
		}
		var a, b []graph.Edge
		g.ChildEdges(id, func(e graph.Edge) error { a = append(a, e); return nil })
		disk.ChildEdges(id, func(e graph.Edge) error { b = append(b, e); return nil })
		if !slices.Equal(a, b) {
			t.Fatalf("%s: live edges %v, database %v", id, a, b)
		}
		// Through the snapshot itself, not only its compact form.
		j, ok := s.Index(id)
		if !ok || s.Info(j) != disk.Nodes[i] {
			t.Fatalf("%s: snapshot has it %v with %+v", id, ok, s.Info(j))
		}
		if s.Count(id) != disk.NewWalker().Count(i, nil) {
			t.Fatalf("%s: count %+v, database %+v", id, s.Count(id), disk.NewWalker().Count(i, nil))
		}
	}
	if s.Models() != models || s.Stubs() != stubs || s.Edges() != disk.EdgeCount() {
		t.Fatalf("counts: live %d models %d stubs %d edges, database %d %d %d", s.Models(), s.Stubs(), s.Edges(), models, stubs, disk.EdgeCount())
	}
	if err := consistent(s); err != nil {
		t.Fatal(err)
	}
}
