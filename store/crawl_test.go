package store

import (
	"context"
	"slices"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

func TestPutCrawledCountsEachModelOnce(t *testing.T) {
	s := memStore(t)
	run, err := s.NewRun("walk", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := func(ids ...graph.ModelID) []graph.Parent {
		var out []graph.Parent
		for _, id := range ids {
			out = append(out, graph.Parent{ID: id, Relation: graph.Merge})
		}
		return out
	}
	tests := []struct {
		name        string
		id          graph.ModelID
		parents     []graph.Parent
		earlier     int
		again       bool
		storedEdges int
	}{
		{"first write", "m/merge", p("a/x", "b/y"), 0, false, 2},
		{"listed again", "m/merge", p("a/x", "b/y"), 2, true, 2},
		{"parents changed", "m/merge", p("a/x"), 2, true, 1},
		{"a parent, never stored itself", "a/x", nil, 0, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var earlier int
			var again bool
			err := s.UpdateRun(run, func(tx *Tx) (err error) {
				earlier, again, err = tx.PutCrawled(graph.Model{ID: tt.id}, tt.parents)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if earlier != tt.earlier || again != tt.again {
				t.Errorf("PutCrawled = %d, %v; want %d, %v", earlier, again, tt.earlier, tt.again)
			}
			g, _ := s.LoadGraph(context.Background(), false)
			if g.EdgeCount() != tt.storedEdges {
				t.Errorf("%d edges stored, want %d", g.EdgeCount(), tt.storedEdges)
			}
		})
	}
}

func TestCrawlProgressAndUnseen(t *testing.T) {
	s := memStore(t)
	if ok, err := s.CrawlProgress(); ok || err != nil {
		t.Fatalf("no crawl: %v, %v", ok, err)
	}
	steps := []struct {
		name string
		do   func(tx *Tx) error
		want bool
	}{
		{"job saved by an older version, nothing seen", func(tx *Tx) error { return tx.SetCrawlJob(CrawlJob{Kind: "walk"}) }, false},
		{"a model seen", func(tx *Tx) error { _, err := tx.Enqueue("a/x", 0, "u"); return err }, true},
		{"tally of no pages", func(tx *Tx) error { return tx.SetCrawlTally(CrawlTally{}) }, false},
		{"tally of one page", func(tx *Tx) error { return tx.SetCrawlTally(CrawlTally{Pages: 1}) }, true},
	}
	for _, st := range steps {
		if err := s.Update(st.do); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.CrawlProgress(); ok != st.want || err != nil {
			t.Errorf("%s: progress %v, %v; want %v", st.name, ok, err, st.want)
		}
	}
	unseen, err := s.Unseen([]graph.ModelID{"a/x", "a/x-2", "b/y"})
	if err != nil || !slices.Equal(unseen, []graph.ModelID{"a/x-2", "b/y"}) {
		t.Errorf("Unseen = %v, %v", unseen, err)
	}
}

func TestRemoveGone(t *testing.T) {
	s := memStore(t)
	put(t, s, []graph.Model{{ID: "p/base"}, {ID: "g/gone"}, {ID: "c/child"}}, []graph.Edge{
		edge("p/base", "g/gone", graph.Finetune), edge("g/gone", "c/child", graph.Adapter),
	})
	run, err := s.NewRun("walk", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		do       func(tx *Tx) error
		goneStub bool // g/gone stays, as a stub
		goneAny  bool // g/gone has a record at all
	}{
		{"removed while a child names it", func(tx *Tx) error { return tx.RemoveGone("g/gone") }, true, true},
		{"its child removed too", func(tx *Tx) error { return tx.RemoveGone("c/child") }, true, true},
		{"orphan stub dropped", func(tx *Tx) error { return tx.DropOrphanStub("g/gone") }, false, false},
	}
	for _, st := range steps {
		if err := s.UpdateRun(run, st.do); err != nil {
			t.Fatal(err)
		}
		s.View(context.Background(), func(r *Reader) error {
			m, err := r.Model("g/gone")
			if (err == nil) != st.goneAny || err == nil && m.Stub != st.goneStub {
				t.Errorf("%s: g/gone %+v, %v", st.name, m, err)
			}
			return nil
		})
	}
	if run.ModelsRemoved != 2 || run.EdgesRemoved != 2 {
		t.Errorf("run counted -%d models, -%d edges; want 2, 2", run.ModelsRemoved, run.EdgesRemoved)
	}
}
