package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// TestCountReadsOneVersion: count, ancestors and tree. A crawl's last page and its end commit
// between count's read of the live graph and its read of the family's
// completeness (and after a count kept in the memo of its version). The answer pairs the verdict with the numbers of the same
// data version — complete with the last page's child — never "complete"
// with the numbers from before the last page.
func TestCountReadsOneVersion(t *testing.T) {
	st, e := openLive(t, false)
	ctx := context.Background()
	// An unfinished walk of org/Base has stored the base.
	w := newBaseWalk(t, st)
	w.put(false, "org/Base")

	members := 0
	for _, method := range []string{"Count", "Ancestors", "Tree"} {
		t.Run(method, func(t *testing.T) {
			w.put(false, graph.ModelID("a/first-"+method))
			members++
			c, err := e.Count(ctx, "org/Base")
			if err != nil || c.Complete || c.Descendants.Total != members {
				t.Fatalf("before the last page: %+v, %v; want %d descendants, incomplete", c, err, members)
			}
			if again, _ := e.Count(ctx, "org/Base"); again.Descendants != c.Descendants || e.live.Load().counts.m["org/Base"].c.Descendants.Total != members {
				t.Fatalf("the count asked again at the same version: %+v, memo %+v", again.Descendants, e.live.Load().counts.m)
			}
			members++
			last := graph.ModelID("b/last-" + method)
			hooked := false
			testHookAfterSnapshot = func() {
				if !hooked {
					hooked = true
					w.put(true, last) // the last page and the crawl's end
				}
			}
			defer func() { testHookAfterSnapshot = nil }()
			switch method {
			case "Count":
				c, err = e.Count(ctx, "org/Base")
				if err != nil || !hooked || !c.Complete || c.Descendants.Total != members {
					t.Errorf("across the last commit: %d descendants, complete %v, %v; want %d, complete", c.Descendants.Total, c.Complete, err, members)
				}
			case "Tree":
				tr, err := e.Tree(ctx, "org/Base", graph.TreeOptions{Depth: 1})
				if err != nil || !hooked || !tr.Complete || tr.Tree.Descendants != members || len(tr.Tree.Children) != members {
					t.Errorf("across the last commit: complete %v, %d descendants, %d children, %v; want %d, complete", tr.Complete, tr.Tree.Descendants, len(tr.Tree.Children), err, members)
				}
			case "Ancestors":
				a, err := e.Ancestors(ctx, "a/first-Ancestors")
				if err != nil || !hooked || !a.Complete || len(a.Ancestors) != 1 {
					t.Errorf("across the last commit: %+v, %v; want org/Base, complete", a, err)
				}
			}
			w.next() // the next crawl starts
		})
	}
}

// TestStatsBehindAreNotComplete: statistics read from a view made while a
// crawl was under way describe that crawl's state then — not complete,
// even once the crawl has completed meanwhile (the figures lag it);
// complete again once a view of the completed crawl is made.
func TestStatsBehindAreNotComplete(t *testing.T) {
	st, e := openLive(t, false)
	ctx := context.Background()
	// Views change only when this test makes them.
	e.live.Load().stop()
	<-e.live.Load().done
	w := newBaseWalk(t, st)
	stats := func(when string, wantModels int, wantComplete, wantBehind bool) {
		t.Helper()
		s, err := e.Stats(ctx, StatsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Models != wantModels || *s.Complete != wantComplete || (s.VersionsBehind > 0) != wantBehind {
			t.Errorf("%s: %d models, complete %v, %d versions behind; want %d, %v, behind %v", when, s.Models, *s.Complete, s.VersionsBehind, wantModels, wantComplete, wantBehind)
		}
	}

	w.put(false, "org/Base", "a/child")
	if err := e.refreshView(ctx); err != nil {
		t.Fatal(err)
	}
	stats("a view of the crawl under way", 2, false, false)
	w.put(true, "b/last") // the last page and the crawl's end
	stats("that view once the crawl completed", 2, false, true)
	if err := e.refreshView(ctx); err != nil {
		t.Fatal(err)
	}
	stats("a view of the completed crawl", 3, true, false)
	w.next() // the next crawl writes
	w.put(false, "c/next")
	stats("a view of a completed crawl while the next one writes", 3, false, true)
}

// TestViewDue: when maintain makes a view again — a lazy Engine's (a
// crawl's) only once a read wanted one, then by the same pacing.
func TestViewDue(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name            string
		lazy, wanted    bool
		sinceCommit     time.Duration
		sinceView, took time.Duration
		want            bool
	}{
		{"writing, view fresh", false, false, time.Second, 5 * time.Second, time.Second, false},
		{"writing, view older than 10 s", false, false, time.Second, 11 * time.Second, time.Second, true},
		{"writing, view older than 10 s but took 4 s", false, false, time.Second, 11 * time.Second, 4 * time.Second, false},
		{"quiet", false, false, 3 * time.Second, time.Second, time.Second, true},
		{"lazy, quiet, not wanted", true, false, time.Hour, time.Hour, time.Second, false},
		{"lazy, writing, not wanted", true, false, time.Second, time.Hour, time.Second, false},
		{"lazy, quiet, wanted", true, true, 3 * time.Second, time.Second, time.Second, true},
		{"lazy, writing, wanted, view fresh", true, true, time.Second, 5 * time.Second, time.Second, false},
		{"lazy, writing, wanted, view old", true, true, time.Second, time.Minute, time.Second, true},
	} {
		l := &liveState{lazy: tc.lazy}
		l.wanted.Store(tc.wanted)
		l.lastCommit.Store(now.Add(-tc.sinceCommit).UnixNano())
		v := &view{built: now.Add(-tc.sinceView), took: tc.took}
		if got := l.viewDue(v, now); got != tc.want {
			t.Errorf("%s: due %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLazyViews: a lazy Engine's read of statistics finds the view as
// opened, behind the graph (its figures say so), and wants a view made,
// which maintain makes for the reads after it.
func TestLazyViews(t *testing.T) {
	st, e := openLive(t, true)
	ctx := context.Background()
	first := e.live.Load().view.Load()
	newBaseWalk(t, st).put(false, "a/child") // org/Base: a parent not crawled
	cur := e.Snapshot().Version()
	if cur == first.version {
		t.Fatal("the commit did not reach the live graph")
	}
	s, err := e.Stats(ctx, StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.VersionsBehind == 0 || s.Models != 0 {
		t.Errorf("the first read: %d models, %d versions behind; want the view as opened, behind", s.Models, s.VersionsBehind)
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute) // fails a test that would hang
	defer cancel()
	if err := e.waitView(wait, cur); err != nil {
		t.Fatalf("no view made after a read wanted one: %v", err)
	}
	if s, err = e.Stats(ctx, StatsOptions{}); err != nil || s.Models != 1 || s.VersionsBehind != 0 {
		t.Errorf("the read after: %d models, %d behind, %v; want 1, current", s.Models, s.VersionsBehind, err)
	}
	if e.live.Load().wanted.Load() {
		t.Error("a view is still wanted after it was made")
	}
}

// openLive opens a live Engine (lazy or not) over a store in memory; both
// are closed when the test ends.
func openLive(t *testing.T, lazy bool) (*store.Store, *Engine) {
	t.Helper()
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := open(context.Background(), st, nil, lazy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return st, e
}

// baseWalk writes walks of org/Base: each put commits models in the
// current run — org/Base itself, or children of it — and marks the run
// complete (and finished) or not.
type baseWalk struct {
	t   *testing.T
	st  *store.Store
	run *store.Run
}

func newBaseWalk(t *testing.T, st *store.Store) *baseWalk {
	w := &baseWalk{t: t, st: st}
	w.next()
	return w
}

// next starts the next crawl's run.
func (w *baseWalk) next() {
	w.t.Helper()
	run, err := w.st.NewRun("walk", false, []string{"org/Base"})
	if err != nil {
		w.t.Fatal(err)
	}
	w.run = run
}

func (w *baseWalk) put(complete bool, ids ...graph.ModelID) {
	w.t.Helper()
	err := w.st.UpdateRun(w.run, func(tx *store.Tx) error {
		for _, id := range ids {
			var parents []graph.Parent
			if id != "org/Base" {
				parents = []graph.Parent{{ID: "org/Base", Relation: graph.Finetune}}
			}
			if _, _, err := tx.PutCrawled(graph.Model{ID: id}, parents); err != nil {
				return err
			}
		}
		tx.Run().Complete = complete
		if complete {
			tx.Run().Finished = time.Now()
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// TestLiveOnRead: an Engine that defers its live graph (a crawl's, with
// --reads auto) keeps none while only counts are asked (they read the
// store), makes it at the first read of the whole graph while a writer
// commits beside it — no commit is lost or applied twice — and follows
// the commits after.
func TestLiveOnRead(t *testing.T) {
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := New(st)
	e.deferred = &deferredLive{}
	t.Cleanup(func() { e.Close() })
	ctx := context.Background()

	w := newBaseWalk(t, st)
	w.put(false, "org/Base", "a/child-0")
	if c, err := e.Count(ctx, "org/Base"); err != nil || c.Descendants.Total != 1 {
		t.Fatalf("count from the store: %+v, %v", c, err)
	}
	if e.live.Load() != nil {
		t.Fatal("a count made the live graph")
	}

	// A writer commits page after page while statistics are asked.
	const pages = 300
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 1; i <= pages && err == nil; i++ {
			err = st.UpdateRun(w.run, func(tx *store.Tx) error {
				_, _, err := tx.PutCrawled(graph.Model{ID: graph.ModelID(fmt.Sprintf("a/child-%d", i))},
					[]graph.Parent{{ID: "org/Base", Relation: graph.Finetune}})
				return err
			})
		}
		done <- err
	}()
	s, err := e.Stats(ctx, StatsOptions{})
	if err != nil {
		t.Fatalf("stats while the writer commits: %v", err)
	}
	if e.live.Load() == nil || s.Models < 2 {
		t.Fatalf("stats made no live graph, or answered %d models", s.Models)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Every commit reached the live graph once: its count is the store's.
	live, err := e.Count(ctx, "org/Base")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := New(st).Count(ctx, "org/Base")
	if err != nil {
		t.Fatal(err)
	}
	if live.Descendants != stored.Descendants || live.Descendants.Total != pages+1 {
		t.Errorf("after the writes: live %+v, store %+v; want %d descendants", live.Descendants, stored.Descendants, pages+1)
	}
	if v, _ := st.DataVersion(); e.Snapshot().Version() != v {
		t.Errorf("live graph at version %d, the store at %d", e.Snapshot().Version(), v)
	}
}
