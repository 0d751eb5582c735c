package query

import (
	"context"
	"testing"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// TestCountReadsOneVersion: count, ancestors and tree. A crawl's last page and its end commit
// between count's read of the live graph and its read of the family's
// completeness (and after a count kept in the memo of its version). The answer pairs the verdict with the numbers of the same
// data version — complete with the last page's child — never "complete"
// with the numbers from before the last page.
func TestCountReadsOneVersion(t *testing.T) {
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	e, err := Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	// An unfinished walk of org/Base has stored the base and one child.
	run, err := st.NewRun("walk", false, []string{"org/Base"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(complete bool, models ...graph.Model) {
		t.Helper()
		err := st.UpdateRun(run, func(tx *store.Tx) error {
			for _, m := range models {
				var parents []graph.Parent
				if m.ID != "org/Base" {
					parents = []graph.Parent{{ID: "org/Base", Relation: graph.Finetune}}
				}
				if _, _, err := tx.PutCrawled(m, parents); err != nil {
					return err
				}
			}
			tx.Run().Complete = complete
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(false, graph.Model{ID: "org/Base"})

	members := 0
	for _, method := range []string{"Count", "Ancestors", "Tree"} {
		t.Run(method, func(t *testing.T) {
			put(false, graph.Model{ID: graph.ModelID("a/first-" + method)})
			members++
			c, err := e.Count(ctx, "org/Base")
			if err != nil || c.Complete || c.Descendants.Total != members {
				t.Fatalf("before the last page: %+v, %v; want %d descendants, incomplete", c, err, members)
			}
			if again, _ := e.Count(ctx, "org/Base"); again.Descendants != c.Descendants || e.live.counts.m["org/Base"].c.Descendants.Total != members {
				t.Fatalf("the count asked again at the same version: %+v, memo %+v", again.Descendants, e.live.counts.m)
			}
			members++
			last := graph.Model{ID: graph.ModelID("b/last-" + method)}
			hooked := false
			testHookAfterSnapshot = func() {
				if !hooked {
					hooked = true
					put(true, last) // the last page and the crawl's end
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
			run, err = st.NewRun("walk", false, []string{"org/Base"}) // the next crawl starts
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
