package query_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// family is a small stored lineage:
//
//	base ─finetune→ a/ft ─quantized→ c/gguf ─finetune→ e/loop (and e/loop→e/loop)
//	base ─adapter→ b/lora        a/ft ─merge→ d/merge ←merge─ x/outside
//
// recorded by two runs: run 1 stored everything but d/merge, run 2 added it.
func family(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := func(id, rel string) graph.Parent {
		return graph.Parent{ID: graph.ModelID(id), Relation: graph.Relation(rel)}
	}
	put := func(run *store.Run, id string, downloads int64, parents ...graph.Parent) {
		t.Helper()
		m := graph.Model{ID: graph.ModelID(id), Author: strings.Split(id, "/")[0], Downloads: downloads,
			CreatedAt: time.Date(2025, time.Month(1+len(id)%6), 1, 0, 0, 0, 0, time.UTC)}
		if err := st.UpdateRun(run, func(tx *store.Tx) error { return tx.PutModel(m, parents) }); err != nil {
			t.Fatal(err)
		}
	}
	finish := func(run *store.Run, size graph.RelationCounts) {
		t.Helper()
		err := st.UpdateRun(run, func(tx *store.Tx) error {
			tx.Run().Complete, tx.Run().Finished = true, time.Now().UTC()
			return tx.PutSnapshot("meta-llama/Llama-3.1-8B", tx.Run().ID, size)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r1, err := st.NewRun("walk", false, []string{"meta-llama/Llama-3.1-8B"})
	if err != nil {
		t.Fatal(err)
	}
	put(r1, "meta-llama/Llama-3.1-8B", 1000)
	put(r1, "a/ft", 50, p("meta-llama/Llama-3.1-8B", "finetune"))
	put(r1, "b/lora", 40, p("meta-llama/Llama-3.1-8B", "adapter"))
	put(r1, "c/gguf", 30, p("a/ft", "quantized"))
	put(r1, "e/loop", 10, p("c/gguf", "finetune"), p("e/loop", "finetune"))
	finish(r1, graph.RelationCounts{Finetune: 2, Adapter: 1, Quantized: 1, Total: 4})
	r2, err := st.NewRun("walk", false, []string{"meta-llama/Llama-3.1-8B"})
	if err != nil {
		t.Fatal(err)
	}
	put(r2, "d/merge", 20, p("a/ft", "merge"), p("x/outside", "merge"))
	finish(r2, graph.RelationCounts{Finetune: 2, Adapter: 1, Quantized: 1, Merge: 1, Total: 5})
	return st
}

func TestCount(t *testing.T) {
	q := query.New(family(t))
	for _, tc := range []struct {
		name, model       string
		total, kids, deep int
		err               error
	}{
		{"root", "meta-llama/Llama-3.1-8B", 5, 2, 3, nil},
		{"any case", "META-LLAMA/llama-3.1-8b", 5, 2, 3, nil},
		{"inner", "a/ft", 3, 2, 2, nil},
		{"leaf in a self-loop", "e/loop", 0, 0, 0, nil},
		{"unknown", "no/such", 0, 0, 0, query.ErrUnknownModel},
		{"invalid", "a--b/c", 0, 0, 0, query.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := q.Count(context.Background(), tc.model)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if c.Descendants.Total != tc.total || c.Children.Total != tc.kids || c.MaxDepth != tc.deep || !c.Complete {
				t.Errorf("count = %+v", c)
			}
		})
	}
}

func TestAncestors(t *testing.T) {
	q := query.New(family(t))
	a, err := q.Ancestors(context.Background(), "d/merge")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, anc := range a.Ancestors {
		got = append(got, string(anc.Model)+":"+string(rune('0'+anc.Distance)))
	}
	if strings.Join(got, " ") != "a/ft:1 x/outside:1 meta-llama/Llama-3.1-8B:2" {
		t.Errorf("ancestors = %v", got)
	}
	if len(a.Roots) != 2 || len(a.Edges) != 3 {
		t.Errorf("roots %v, edges %v", a.Roots, a.Edges)
	}
}

func TestHistoryAndDiff(t *testing.T) {
	q := query.New(family(t))
	ctx := context.Background()
	h, err := q.History(ctx, "meta-llama/Llama-3.1-8B")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Runs) != 2 || h.Runs[0].Descendants.Total != 4 || h.Runs[1].Descendants.Total != 5 {
		t.Errorf("history = %+v", h)
	}
	for _, tc := range []struct {
		name       string
		o          query.DiffOptions
		run        uint64
		models     []graph.ModelID
		edges      int
		allNew     bool
		wantErrSub string
	}{
		{"last run", query.DiffOptions{}, 2, []graph.ModelID{"d/merge"}, 2, false, ""},
		{"last run, in the family of b/lora", query.DiffOptions{Model: "b/lora"}, 2, nil, 0, false, ""},
		{"last run, in the family of a/ft", query.DiffOptions{Model: "a/ft"}, 2, []graph.ModelID{"d/merge"}, 1, false, ""},
		{"first run", query.DiffOptions{Run: 1}, 1, nil, 0, true, ""},
		{"no such run", query.DiffOptions{Run: 9}, 0, nil, 0, false, "9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := q.Diff(ctx, tc.o)
			if tc.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Run != tc.run || d.AllNew != tc.allNew || len(d.EdgesAdded) != tc.edges || strings.Join(ids(d.ModelsAdded), " ") != strings.Join(ids(tc.models), " ") {
				t.Errorf("diff = %+v", d)
			}
		})
	}
}

func ids(ms []graph.ModelID) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m))
	}
	return out
}

func TestStats(t *testing.T) {
	q := query.New(family(t))
	s, err := q.Stats(context.Background(), query.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// x/outside is a stub (named as a parent, never listed): not a model.
	if s.Models != 6 || s.Edges != 7 {
		t.Errorf("stats: %d models, %d edges; want 6, 7", s.Models, s.Edges)
	}
	s, err = q.Stats(context.Background(), query.StatsOptions{Root: "a/ft"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Root != "a/ft" || s.Models != 4 {
		t.Errorf("rooted stats: root %q, %d models; want a/ft, 4", s.Root, s.Models)
	}
	if _, err := q.Stats(context.Background(), query.StatsOptions{Top: -1}); !errors.Is(err, query.ErrInvalid) {
		t.Errorf("--top -1: %v", err)
	}
}

func TestWrite(t *testing.T) {
	q := query.New(family(t))
	for _, tc := range []struct {
		name  string
		sel   query.Selection
		nodes int
		has   string
		err   error
	}{
		{"family dot", query.Selection{Format: "dot", Root: "meta-llama/Llama-3.1-8B", Depth: -1}, 6, `"a/ft" -> "c/gguf"`, nil},
		{"depth 1", query.Selection{Format: "csv", Root: "meta-llama/Llama-3.1-8B", Depth: 1}, 3, "meta-llama/Llama-3.1-8B,adapter,b/lora", nil},
		{"two most downloaded", query.Selection{Format: "csv-nodes", Root: "meta-llama/Llama-3.1-8B", Depth: -1, MaxNodes: 2}, 2, "a/ft", nil},
		{"adapters only", query.Selection{Format: "graphml", Depth: -1, Relations: map[graph.Relation]bool{graph.Adapter: true}}, 2, "b/lora", nil},
		{"everything", query.Selection{Format: "json", Depth: -1}, 7, `"x/outside"`, nil},
		{"no format", query.Selection{Depth: -1}, 0, "", query.ErrInvalid},
		{"depth without root", query.Selection{Format: "dot", Depth: 2}, 0, "", query.ErrInvalid},
		{"cluster by relation without root", query.Selection{Format: "dot", Depth: -1, Cluster: "relation"}, 0, "", query.ErrInvalid},
		{"unknown root", query.Selection{Format: "dot", Depth: -1, Root: "no/such"}, 0, "", query.ErrUnknownModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			x, err := q.Write(context.Background(), tc.sel, &b)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if x.Nodes != tc.nodes || !strings.Contains(b.String(), tc.has) {
				t.Errorf("%d nodes (want %d); output lacks %q:\n%s", x.Nodes, tc.nodes, tc.has, b.String())
			}
		})
	}
}

// TestCancelled: every question stops with the context's error.
func TestCancelled(t *testing.T) {
	q := query.New(family(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"count":     func() error { _, err := q.Count(ctx, "a/ft"); return err },
		"ancestors": func() error { _, err := q.Ancestors(ctx, "a/ft"); return err },
		"family":    func() error { _, err := q.Family(ctx, "a/ft", -1); return err },
		"stats":     func() error { _, err := q.Stats(ctx, query.StatsOptions{}); return err },
		"history":   func() error { _, err := q.History(ctx, "meta-llama/Llama-3.1-8B"); return err },
		"diff":      func() error { _, err := q.Diff(ctx, query.DiffOptions{}); return err },
		"export": func() error {
			_, err := q.Write(ctx, query.Selection{Format: "csv", Depth: -1}, &bytes.Buffer{})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", name, err)
		}
	}
}

// TestUnknownModelTheHubDenied: a model the database lacks is "crawl it
// first", unless a crawl asked the Hub and was told 401/404: then the
// answer says what the Hub said and when, in any letter case.
func TestUnknownModelTheHubDenied(t *testing.T) {
	st := family(t)
	if err := st.Update(func(tx *store.Tx) error { return tx.MarkMissing("org/Private", 401) }); err != nil {
		t.Fatal(err)
	}
	q := query.New(st)
	for _, tc := range []struct{ name, want string }{
		{"no/such", "model no/such is not in the database (crawl it first: hflineage crawl no/such)"},
		{"org/private", "model org/private is not in the database: the Hub answered 401 to a crawl's lookup of it on " +
			time.Now().UTC().Format("2006-01-02")},
	} {
		_, err := q.Count(context.Background(), tc.name)
		if !errors.Is(err, query.ErrUnknownModel) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrUnknownModel starting %q", tc.name, err, tc.want)
		}
	}
}
