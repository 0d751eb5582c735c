package store

import (
	"context"
	"fmt"
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

// TestClearCrawlInOneCommit: the commit that completes a run ends its crawl
// (job and tally gone, and the queue and seen set when small enough for
// one transaction); a larger rest stays, of no crawl, until Store.ClearCrawl
// drops it. Store.ClearCrawl of no crawl state writes nothing.
func TestClearCrawlInOneCommit(t *testing.T) {
	for _, tt := range []struct {
		name         string
		queued, seen int // Enqueue writes two keys (seen, queued), MarkSeen one
		leftover     bool
	}{
		{"no queue", 0, 0, false},
		{"small queue and seen set", 5, 20, false},
		{"as many keys as one commit deletes", 100, clearInTx - 200, false},
		{"more than one commit deletes", 100, clearInTx, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := memStore(t)
			run, err := s.NewRun("walk", false, []string{"a/root"})
			if err != nil {
				t.Fatal(err)
			}
			err = s.UpdateRun(run, func(tx *Tx) error {
				if err := tx.SetCrawlJob(CrawlJob{Kind: "walk", RunID: run.ID}); err != nil {
					return err
				}
				for i := range tt.queued {
					if _, err := tx.Enqueue(graph.ModelID(fmt.Sprintf("q/m%05d", i)), 1, "u"); err != nil {
						return err
					}
				}
				for i := range tt.seen {
					if _, err := tx.MarkSeen(graph.ModelID(fmt.Sprintf("s/m%05d", i)), 2); err != nil {
						return err
					}
				}
				return tx.SetCrawlTally(CrawlTally{Models: int64(tt.queued + tt.seen), Pages: 1})
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.UpdateRun(run, func(tx *Tx) error {
				tx.Run().Complete = true
				return tx.ClearCrawl()
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.CrawlJob(); ok || err != nil {
				t.Errorf("job after the completing commit: %v, %v", ok, err)
			}
			if _, ok, err := s.CrawlTally(); ok || err != nil {
				t.Errorf("tally after the completing commit: %v, %v", ok, err)
			}
			if r, err := s.GetRun(run.ID); err != nil || !r.Complete {
				t.Errorf("run after the completing commit: %+v, %v", r, err)
			}
			if progressed, err := s.CrawlProgress(); progressed || err != nil {
				t.Errorf("progress of no crawl: %v, %v", progressed, err)
			}
			if left, err := s.crawlKeysLeft(); left != tt.leftover || err != nil {
				t.Errorf("crawl keys left after the completing commit: %v, %v; want %v", left, err, tt.leftover)
			}
			before := s.db.MaxVersion()
			if err := s.ClearCrawl(); err != nil {
				t.Fatal(err)
			}
			if left, err := s.crawlKeysLeft(); left || err != nil {
				t.Errorf("crawl keys left after ClearCrawl: %v, %v", left, err)
			}
			if !tt.leftover && s.db.MaxVersion() != before {
				t.Error("ClearCrawl of no crawl state committed")
			}
		})
	}
}

// TestClearCrawlAbandons: Store.ClearCrawl forgets a live crawl, however
// large its seen set, the job first.
func TestClearCrawlAbandons(t *testing.T) {
	s := memStore(t)
	err := s.Update(func(tx *Tx) error {
		if err := tx.SetCrawlJob(CrawlJob{Kind: "walk"}); err != nil {
			return err
		}
		for i := range clearInTx + 10 {
			if _, err := tx.MarkSeen(graph.ModelID(fmt.Sprintf("s/m%05d", i)), 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ClearCrawl(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.CrawlJob(); ok || err != nil {
		t.Errorf("job after ClearCrawl: %v, %v", ok, err)
	}
	if left, err := s.crawlKeysLeft(); left || err != nil {
		t.Errorf("crawl keys left after ClearCrawl: %v, %v", left, err)
	}
}
