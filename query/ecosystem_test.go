package query_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// union computes an ecosystem from a world's declared lineage alone: the
// roots are the world's ids (public or named as parents) that match spec,
// the members every model reachable from a root that is not one, with the
// relations of their edges from a root or a member.
func union(l hubtest.Lineage, spec string) (members map[graph.ModelID]bool, desc graph.RelationCounts) {
	eco, err := graph.ParseEcosystem(spec)
	if err != nil {
		panic(err)
	}
	kids := map[graph.ModelID][]graph.Edge{}
	isRoot := map[graph.ModelID]bool{}
	for e := range l.Edges {
		kids[e.Parent] = append(kids[e.Parent], e)
		for _, id := range []graph.ModelID{e.Parent, e.Child} {
			if eco.Match(id) {
				isRoot[id] = true
			}
		}
	}
	members = map[graph.ModelID]bool{}
	var todo []graph.ModelID
	for r := range isRoot {
		todo = append(todo, r)
	}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, e := range kids[n] {
			if !isRoot[e.Child] && !members[e.Child] {
				members[e.Child] = true
				todo = append(todo, e.Child)
			}
		}
	}
	byRel := map[graph.Relation]map[graph.ModelID]bool{}
	for e := range l.Edges {
		if members[e.Child] && (members[e.Parent] || isRoot[e.Parent]) {
			if byRel[e.Relation] == nil {
				byRel[e.Relation] = map[graph.ModelID]bool{}
			}
			byRel[e.Relation][e.Child] = true
		}
	}
	desc = graph.RelationCounts{Adapter: len(byRel[graph.Adapter]), Finetune: len(byRel[graph.Finetune]),
		Merge: len(byRel[graph.Merge]), Quantized: len(byRel[graph.Quantized]), Total: len(members)}
	return members, desc
}

// crawlWorld scans w into a fresh in-memory store and returns its engine.
func crawlWorld(t *testing.T, w *hubtest.World) (*store.Store, *query.Engine, *hubtest.Server) {
	return crawlWorldIn(t, w, "")
}

// crawlWorldIn scans w into a fresh store in dir (in memory for "": on
// disk, the engine reads attributes in place from graph.bin).
func crawlWorldIn(t *testing.T, w *hubtest.World, dir string) (*store.Store, *query.Engine, *hubtest.Server) {
	t.Helper()
	srv := hubtest.NewServer(w)
	t.Cleanup(srv.Close)
	var st *store.Store
	var err error
	if dir == "" {
		st, err = store.OpenInMemory()
	} else {
		st, err = store.Open(dir, store.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q := query.New(st)
	scan(t, q, srv)
	return st, q, srv
}

// scan crawls the whole Hub: a full scan, which also finds what the Hub
// removed.
func scan(t *testing.T, q *query.Engine, srv *hubtest.Server) {
	t.Helper()
	hub := query.Hub{Endpoint: srv.URL, MinWait: time.Millisecond, MaxWait: time.Second}
	if _, err := q.Crawl(context.Background(), hub, query.CrawlRequest{All: true, Full: true}, query.CrawlWatch{}); err != nil {
		t.Fatal(err)
	}
}

func TestEcosystemsEqualBruteForceUnion(t *testing.T) {
	ctx := context.Background()
	w := hubtest.Generate(hubtest.GenOptions{Models: 3000, Seed: 5})
	_, q, srv := crawlWorldIn(t, w, t.TempDir()) // on disk: compare reads graph.bin in place
	_, inMemory, _ := crawlWorld(t, w)
	specs := []string{"base-org-0/*", "base-org-1/*,base-org-2/Base-Model-2", "user1*/*", "user2/*", "base-org-*/*"}
	l := w.Lineage()
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			c, err := q.CountEcosystem(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			_, want := union(l, spec)
			if c.Descendants != want {
				t.Errorf("descendants %+v; want %+v", c.Descendants, want)
			}
			if !c.Complete || c.Crawled == "" {
				t.Errorf("complete %v crawled %q after a complete scan", c.Complete, c.Crawled)
			}
			for _, r := range c.Roots {
				single, err := q.Count(ctx, string(r.Model))
				if err != nil || single.FamilyCount != r {
					t.Errorf("root %s: %+v; count says %+v, %v", r.Model, r, single.FamilyCount, err)
				}
			}
			if c.Shared > c.Descendants.Total || (len(c.Roots) == 1 && c.Shared != 0) {
				t.Errorf("shared %d of %d members, %d roots", c.Shared, c.Descendants.Total, len(c.Roots))
			}
		})
	}
	cmp, err := q.Compare(ctx, query.CompareOptions{Ecosystems: specs})
	if err != nil {
		t.Fatal(err)
	}
	// From the whole stored graph (in memory) as from the edges and
	// graph.bin's attributes read in place (on disk): the same answer.
	same, err := inMemory.Compare(ctx, query.CompareOptions{Ecosystems: specs})
	if err != nil {
		t.Fatal(err)
	}
	for i := range same.Ecosystems {
		same.Ecosystems[i].Crawled = cmp.Ecosystems[i].Crawled
	}
	if a, b := fmt.Sprintf("%+v", cmp), fmt.Sprintf("%+v", same); a != b {
		t.Errorf("compare on disk and in memory differ:\n%s\n%s", a, b)
	}
	if len(cmp.Ecosystems) != len(specs) || len(cmp.Overlaps) != len(specs)*(len(specs)-1)/2 {
		t.Fatalf("%d ecosystems, %d overlaps", len(cmp.Ecosystems), len(cmp.Overlaps))
	}
	k := 0
	for i := range specs {
		mi, di := union(l, specs[i])
		if got := cmp.Ecosystems[i].Descendants; got != di {
			t.Errorf("compare %s: %+v; want %+v", specs[i], got, di)
		}
		if n := len(cmp.Ecosystems[i].Cumulative); n != len(cmp.Months) || n > 0 && cmp.Ecosystems[i].Cumulative[n-1]+cmp.Ecosystems[i].CreatedUnknown != di.Total {
			t.Errorf("compare %s: cumulative %v over %d months, %d unknown; want %d members", specs[i], cmp.Ecosystems[i].Cumulative, len(cmp.Months), cmp.Ecosystems[i].CreatedUnknown, di.Total)
		}
		// The most downloaded members, most first, as the Hub counts them.
		var best []int64
		for m := range mi {
			if hm, ok := w.Get(string(m)); ok {
				best = append(best, hm.Downloads)
			}
		}
		slices.Sort(best)
		slices.Reverse(best)
		top := cmp.Ecosystems[i].Top
		for k, member := range top {
			if !mi[member.Model] || k >= len(best) || member.Downloads != best[k] {
				t.Errorf("compare %s: top %d is %+v; want a member with %d downloads", specs[i], k, member, best[min(k, len(best)-1)])
			}
		}
		if len(top) != min(5, len(best)) {
			t.Errorf("compare %s: %d top members of %d", specs[i], len(top), len(best))
		}
		for j := i + 1; j < len(specs); j++ {
			mj, _ := union(l, specs[j])
			both := 0
			for m := range mi {
				if mj[m] {
					both++
				}
			}
			ov := cmp.Overlaps[k]
			k++
			if ov.A != specs[i] || ov.B != specs[j] || ov.Members != both {
				t.Errorf("overlap %s × %s: %d (%s × %s); want %d", specs[i], specs[j], ov.Members, ov.A, ov.B, both)
			}
			for _, ex := range ov.Examples {
				if !mi[ex.Model] || !mj[ex.Model] {
					t.Errorf("overlap %s × %s: example %s is not in both", specs[i], specs[j], ex.Model)
				}
			}
		}
	}

	// A day on the Hub later: the history shows the union after each run.
	w.Churn(300, 100, hubtest.GeneratedUntil.Add(24*time.Hour))
	scan(t, q, srv)
	for _, spec := range specs {
		h, err := q.HistoryOfEcosystem(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		_, before := union(l, spec)
		_, after := union(w.Lineage(), spec)
		if len(h.Runs) != 2 || h.Runs[0].Descendants != before || h.Runs[1].Descendants != after {
			t.Errorf("history of %s: %+v; want %+v then %+v", spec, h.Runs, before, after)
		}
	}
}

// The recorded Llama-2 trees, served together as the Hub would: the
// ecosystem of meta-llama is the union of the two families.
func TestEcosystemOfRecordedTrees(t *testing.T) {
	w := recordedWorld(t)
	_, q, _ := crawlWorld(t, w)
	c, err := q.CountEcosystem(context.Background(), "meta-llama/*")
	if err != nil {
		t.Fatal(err)
	}
	_, want := union(w.Lineage(), "meta-llama/*")
	if c.Descendants != want || len(c.Roots) < 2 {
		t.Errorf("meta-llama/*: %+v, roots %+v; want %+v from 2 roots or more", c.Descendants, c.Roots, want)
	}
}

// recordedWorld is a Hub holding both recorded Llama-2 trees of
// ../shared (skipped without them).
func recordedWorld(t *testing.T) *hubtest.World {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "hub-recordings", "model_metadata_analyses")
	if os.Getenv("HFLINEAGE_NO_SHARED") != "" {
		t.Skip("HFLINEAGE_NO_SHARED: the recorded trees are hidden")
	}
	w := hubtest.NewWorld()
	for _, f := range []string{"Llama-2-7b_finetunes_20250422_180448.json", "Llama-2-7b-chat-hf_finetunes_20250422_180448.json"} {
		tr, err := hubtest.ReadTree(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("no recorded trees in %s", dir)
		}
		if err != nil {
			t.Fatal(err)
		}
		one := tr.World()
		for _, id := range one.IDs() {
			if m, ok := one.Get(id); ok {
				if _, dup := w.Get(id); !dup {
					w.Add(m)
				}
			}
		}
	}
	return w
}

func TestEcosystemBadInput(t *testing.T) {
	w := hubtest.Generate(hubtest.GenOptions{Models: 300, Seed: 2})
	_, q, _ := crawlWorld(t, w)
	ctx := context.Background()
	for _, tc := range []struct {
		spec string
		want error
	}{
		{"nobody/*", query.ErrNoMatch},
		{"*", query.ErrInvalid},
		{"*/*", query.ErrInvalid},
		{"a b/*", query.ErrInvalid},
		{"base-org-0/*,", query.ErrInvalid},
		{"base-org-0/*,no/such", query.ErrUnknownModel},
	} {
		if _, err := q.CountEcosystem(ctx, tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("%q: %v; want %v", tc.spec, err, tc.want)
		}
	}
	if _, err := q.Compare(ctx, query.CompareOptions{Ecosystems: []string{"base-org-0/*"}}); !errors.Is(err, query.ErrInvalid) {
		t.Errorf("compare of one: %v", err)
	}
}
