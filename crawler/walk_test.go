package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

func pt(id, rel string) hubtest.Parent { return hubtest.Parent{ID: id, Relation: rel} }

// smallWorld has every awkward case the Hub's real metadata has: a rename,
// a merge with a parent outside the family, a cycle, a self-loop, a child
// reached through two parents, a legacy plain tag and a private model.
func smallWorld() *hubtest.World {
	w := hubtest.NewWorld()
	add := func(id string, downloads int64, parents ...hubtest.Parent) {
		tags := append([]string{"transformers", "license:apache-2.0"}, hubtest.ParentTags(parents...)...)
		w.Add(hubtest.Model{ID: id, Downloads: downloads, Tags: tags, LibraryName: "transformers", PipelineTag: "text-generation"})
	}
	add("meta-llama/Llama-3.1-8B", 1000)
	add("other/Base", 50)
	add("a/ft1", 10, pt("meta-llama/Llama-3.1-8B", "finetune"))
	add("a/ft2", 20, pt("meta-llama/Llama-3.1-8B", "finetune"))
	add("b/lora", 5, pt("meta-llama/Llama-3.1-8B", "adapter"))
	add("c/gguf", 7, pt("a/ft1", "quantized"))
	add("d/merge", 3, pt("a/ft1", "merge"), pt("a/ft2", "merge"), pt("other/Base", "merge"))
	add("e/legacy", 1, pt("a/ft2", ""))
	add("f/cycle1", 1, pt("a/ft2", "finetune"), pt("f/cycle2", "finetune"))
	add("f/cycle2", 1, pt("f/cycle1", "finetune"))
	add("g/self", 1, pt("b/lora", "finetune"), pt("g/self", "finetune"))
	add("h/back", 1, pt("g/self", "finetune"))
	add("meta-llama/Llama-3.1-8B-Instruct", 500, pt("meta-llama/Llama-3.1-8B", "finetune"))
	add("i/instruct-gguf", 9, pt("meta-llama/Llama-3.1-8B-Instruct", "quantized"))
	w.Add(hubtest.Model{ID: "z/private", Private: true, Tags: hubtest.ParentTags(pt("a/ft1", "finetune"))})
	w.Rename("meta-llama/Meta-Llama-3.1-8B", "meta-llama/Llama-3.1-8B")
	return w
}

func crawl(t *testing.T, srv *hubtest.Server, st *store.Store, seeds []string, opts crawler.Options) (crawler.Stats, error) {
	t.Helper()
	w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL, MinWait: 1, MaxWait: 10}, crawlsink.New(st))
	if err != nil {
		t.Fatal(err)
	}
	var ids []graph.ModelID
	for _, s := range seeds {
		ids = append(ids, graph.ModelID(s))
	}
	return w.Walk(context.Background(), ids, opts)
}

func memStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func count(t *testing.T, st *store.Store, name string) graph.FamilyCount {
	t.Helper()
	id, err := st.Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	var c graph.FamilyCount
	if err := st.View(context.Background(), func(r *store.Reader) error {
		f, err := graph.LoadFamily(context.Background(), r, id, -1)
		c = f.Count()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWalkSmallWorld(t *testing.T) {
	for _, pageSize := range []int{1, 2, 3, 1000} {
		t.Run(fmt.Sprintf("page%d", pageSize), func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(smallWorld())
			srv.MaxPageSize = pageSize
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			stats, err := crawl(t, srv, st, []string{"meta-llama/meta-llama-3.1-8b"}, crawler.Options{Depth: -1})
			if err != nil {
				t.Fatal(err)
			}
			c := count(t, st, "META-LLAMA/Meta-Llama-3.1-8B")
			want := graph.FamilyCount{
				Model:       "meta-llama/Llama-3.1-8B",
				Children:    graph.RelationCounts{Adapter: 1, Finetune: 3, Total: 4},
				Descendants: graph.RelationCounts{Adapter: 1, Finetune: 8, Merge: 1, Quantized: 2, Total: 12},
				MaxDepth:    3,
			}
			if c != want {
				t.Errorf("count = %+v\nwant    %+v", c, want)
			}
			// 13 family members, seed included; 1 seed request + 1 listing page per member at least.
			if stats.Models != 13 {
				t.Errorf("stats.Models = %d, want 13", stats.Models)
			}
			if got := srv.RequestCount(); int64(got) != stats.Requests {
				t.Errorf("server saw %d requests, walker counted %d", got, stats.Requests)
			}
			// Co-parent outside the family is a stub node with its edge.
			err = st.View(context.Background(), func(r *store.Reader) error {
				m, err := r.Model("other/Base")
				if err != nil {
					return err
				}
				if !m.Stub {
					t.Errorf("other/Base should be a stub: %+v", m)
				}
				var parents []string
				r.ParentEdges("d/merge", func(e graph.Edge) error {
					parents = append(parents, string(e.Parent)+":"+string(e.Relation))
					return nil
				})
				if want := []string{"a/ft1:merge", "a/ft2:merge", "other/Base:merge"}; !slices.Equal(parents, want) {
					t.Errorf("parents of d/merge = %v, want %v", parents, want)
				}
				if _, err := r.Model("z/private"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("private model stored: %v", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWalkDepthBound(t *testing.T) {
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	st := memStore(t)
	if _, err := crawl(t, srv, st, []string{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: 1}); err != nil {
		t.Fatal(err)
	}
	c := count(t, st, "meta-llama/Llama-3.1-8B")
	if c.Descendants.Total != 4 || c.MaxDepth != 1 {
		t.Errorf("depth 1: %+v, want 4 descendants at depth 1", c)
	}
	// Listing requests: only the seed was expanded.
	lists := 0
	for _, r := range srv.Requests() {
		if r.URL[:len("/api/models?")] == "/api/models?" {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("%d listing requests, want 1", lists)
	}
}

func TestWalkUnknownSeed(t *testing.T) {
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	st := memStore(t)
	_, err := crawl(t, srv, st, []string{"nobody/nothing", "b/lora"}, crawler.Options{Depth: -1})
	var se *crawler.SeedError
	if !errors.As(err, &se) || se.Errs["nobody/nothing"] == nil || !errors.Is(se.Errs["nobody/nothing"], crawler.ErrNotFound) {
		t.Fatalf("err = %v, want a SeedError naming nobody/nothing", err)
	}
	if c := count(t, st, "b/lora"); c.Descendants.Total != 2 {
		t.Errorf("b/lora crawled anyway: %+v", c)
	}
}

// TestRewalkTotals walks a family twice, before and after it changes on
// the Hub (a model removed, one added: the re-walk's lookup and removal),
// and checks each run's totals, the family stored and that the finished
// walk leaves no job.
func TestRewalkTotals(t *testing.T) {
	world := smallWorld()
	srv := hubtest.NewServer(world)
	defer srv.Close()
	st := memStore(t)
	type totals struct {
		Models, Edges, Pages              int64
		Added, Removed, EdgesIn, EdgesOut int64
		Complete                          bool
	}
	rounds := []struct {
		change func()
		want   totals
	}{
		// 13 members (the stub other/Base is not one) and the 16 edges
		// into them; a page per member and the seed's lookup.
		{func() {}, totals{13, 16, 14, 13, 0, 16, 0, true}},
		// c/gguf gone with its edge from a/ft1; j/new and its edge from
		// a/ft2 new.
		{func() {
			world.Remove("c/gguf")
			world.Add(hubtest.Model{ID: "j/new", Tags: hubtest.ParentTags(pt("a/ft2", "finetune"))})
		}, totals{13, 16, 14, 1, 1, 1, 1, true}},
	}
	for round, r := range rounds {
		r.change()
		s, err := crawl(t, srv, st, []string{"meta-llama/meta-llama-3.1-8b"}, crawler.Options{Depth: -1})
		if err != nil {
			t.Fatal(err)
		}
		got := totals{s.Models, s.Edges, s.Pages, s.Run.ModelsAdded, s.Run.ModelsRemoved, s.Run.EdgesAdded, s.Run.EdgesRemoved, s.Run.Complete}
		if got != r.want {
			t.Errorf("round %d: %+v\nwant     %+v", round, got, r.want)
		}
		if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
			t.Errorf("round %d: family %+v, want 12 descendants", round, c)
		}
		if _, ok, err := st.CrawlJob(); ok || err != nil {
			t.Errorf("round %d: the finished walk left its job (%v)", round, err)
		}
	}
}
