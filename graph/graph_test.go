package graph

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParseModelID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"gpt2", true},
		{"meta-llama/Llama-3.1-8B", true},
		{"a/b_c.d-e", true},
		{"org/" + strings.Repeat("x", 96), true},
		{"org/" + strings.Repeat("x", 97), false},
		{"", false},
		{"/name", false},
		{"org/", false},
		{"a/b/c", false},
		{"org/na--me", false},
		{"org/na..me", false},
		{"org/-name", false},
		{"org/name.", false},
		{".org/name", false},
		{"org/na me", false},
		{"org/name:x", false},
		{"https://huggingface.co/org/name", false},
		{"/root/models/x", false},
		{"org/námé", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := ParseModelID(tt.in)
			if tt.ok && (err != nil || string(id) != tt.in) {
				t.Errorf("ParseModelID(%q) = %q, %v; want ok", tt.in, id, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidID) {
				t.Errorf("ParseModelID(%q) = %q, %v; want ErrInvalidID", tt.in, id, err)
			}
		})
	}
}

func TestParentsFromTags(t *testing.T) {
	tests := []struct {
		name string
		tags []string
		want []Parent
	}{
		{"none", []string{"transformers", "license:mit"}, nil},
		{"finetune", []string{"base_model:meta-llama/Llama-3.1-8B", "base_model:finetune:meta-llama/Llama-3.1-8B"},
			[]Parent{{"meta-llama/Llama-3.1-8B", Finetune}}},
		{"legacy plain tag is finetune", []string{"base_model:org/base"}, []Parent{{"org/base", Finetune}}},
		{"adapter", []string{"base_model:org/base", "base_model:adapter:org/base"}, []Parent{{"org/base", Adapter}}},
		{"merge of three", []string{"base_model:c/z", "base_model:merge:c/z", "base_model:a/x", "base_model:merge:a/x", "base_model:merge:b/y"},
			[]Parent{{"a/x", Merge}, {"b/y", Merge}, {"c/z", Merge}}},
		{"duplicates", []string{"base_model:quantized:a/x", "base_model:quantized:a/x", "base_model:a/x"}, []Parent{{"a/x", Quantized}}},
		{"two relations to one parent", []string{"base_model:adapter:a/x", "base_model:finetune:a/x"}, []Parent{{"a/x", Adapter}, {"a/x", Finetune}}},
		{"upper-case relation", []string{"base_model:Adapter:a/x"}, []Parent{{"a/x", Adapter}}},
		{"invalid ids skipped", []string{"base_model:https://x.y/z", "base_model:/root/m", "base_model:finetune:", "base_model:"}, nil},
		{"not a relation word", []string{"base_model:a-b:c/d"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParentsFromTags(tt.tags); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLicenseFromTags(t *testing.T) {
	if got := LicenseFromTags([]string{"x", "license:llama3.1", "license:mit"}); got != "llama3.1" {
		t.Errorf("got %q", got)
	}
	if got := LicenseFromTags(nil); got != "" {
		t.Errorf("got %q", got)
	}
}

// mapSource is an in-memory EdgeSource and ParentSource.
type mapSource []Edge

func (s mapSource) ChildEdges(id ModelID, fn func(Edge) error) error {
	for _, e := range s {
		if e.Parent == id {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s mapSource) ParentEdges(id ModelID, fn func(Edge) error) error {
	for _, e := range s {
		if e.Child == id {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func edges(spec string) mapSource {
	var out mapSource
	for _, f := range strings.Fields(spec) {
		p := strings.Split(f, ">")
		out = append(out, Edge{ModelID(p[0]), ModelID(p[2]), Relation(p[1])})
	}
	return out
}

func TestFamilyCount(t *testing.T) {
	tests := []struct {
		name  string
		edges string
		want  FamilyCount
	}{
		{"lonely", "", FamilyCount{Model: "r"}},
		{"chain", "r>finetune>a a>quantized>b",
			FamilyCount{"r", RelationCounts{Finetune: 1, Total: 1}, RelationCounts{Finetune: 1, Quantized: 1, Total: 2}, 2}},
		{"diamond counts once", "r>finetune>a r>finetune>b a>merge>m b>merge>m",
			FamilyCount{"r", RelationCounts{Finetune: 2, Total: 2}, RelationCounts{Finetune: 2, Merge: 1, Total: 3}, 2}},
		{"cycle back to root excluded", "r>finetune>a a>finetune>r",
			FamilyCount{"r", RelationCounts{Finetune: 1, Total: 1}, RelationCounts{Finetune: 1, Total: 1}, 1}},
		{"self loops", "r>finetune>r r>adapter>a a>finetune>a",
			FamilyCount{"r", RelationCounts{Adapter: 1, Total: 1}, RelationCounts{Adapter: 1, Finetune: 1, Total: 1}, 1}},
		{"two relations to one child", "r>adapter>a r>finetune>a",
			FamilyCount{"r", RelationCounts{Adapter: 1, Finetune: 1, Total: 1}, RelationCounts{Adapter: 1, Finetune: 1, Total: 1}, 1}},
		{"co-parent outside ignored", "r>merge>m x>merge>m x>finetune>y",
			FamilyCount{"r", RelationCounts{Merge: 1, Total: 1}, RelationCounts{Merge: 1, Total: 1}, 1}},
		{"depth is shortest path", "r>finetune>a a>finetune>b b>finetune>c r>quantized>c",
			FamilyCount{"r", RelationCounts{Finetune: 1, Quantized: 1, Total: 2}, RelationCounts{Finetune: 3, Quantized: 1, Total: 3}, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := LoadFamily(context.Background(), edges(tt.edges), "r", -1)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Count(); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadFamilyDepthBound(t *testing.T) {
	src := edges("r>finetune>a a>finetune>b b>finetune>c a>finetune>r b>merge>a")
	f, err := LoadFamily(context.Background(), src, "r", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Members, []ModelID{"r", "a"}) {
		t.Errorf("members %v", f.Members)
	}
	want := []Edge{{"a", "r", Finetune}, {"r", "a", Finetune}}
	if !slices.Equal(f.Edges, want) {
		t.Errorf("edges %v, want %v", f.Edges, want)
	}
}

func TestPrune(t *testing.T) {
	src := edges("r>finetune>a r>finetune>b a>finetune>a1 a>finetune>a2 a1>quantized>deep b>finetune>b1")
	f, _ := LoadFamily(context.Background(), src, "r", -1)
	downloads := map[ModelID]int64{"deep": 100, "b1": 50, "a2": 40, "a": 1, "b": 1, "a1": 1}
	weight := func(id ModelID) int64 { return downloads[id] }
	tests := []struct {
		max  int
		want []ModelID
	}{
		{0, []ModelID{"a", "a1", "a2", "b", "b1", "deep", "r"}},
		{1, []ModelID{"r"}},
		{3, []ModelID{"b", "b1", "r"}},         // deep needs 3 more; b1 fits with b
		{4, []ModelID{"a", "a1", "deep", "r"}}, // deep with its path
		{6, []ModelID{"a", "a1", "b", "b1", "deep", "r"}},
	}
	for _, tt := range tests {
		p, _ := f.Prune(context.Background(), tt.max, weight)
		if got := p.SortedMembers(); !slices.Equal(got, tt.want) {
			t.Errorf("Prune(%d) = %v, want %v", tt.max, got, tt.want)
		}
		for _, e := range p.Edges {
			if _, ok := p.Depth[e.Parent]; !ok {
				t.Errorf("Prune(%d) kept edge %v to a dropped node", tt.max, e)
			}
		}
	}
}

func TestAncestors(t *testing.T) {
	src := edges("base>finetune>ft ft>quantized>q other>merge>m ft>merge>m m>finetune>x x>finetune>x cyc1>finetune>cyc2 cyc2>finetune>cyc1 cyc1>adapter>x")
	a, err := LoadAncestors(context.Background(), src, "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Ancestors(); !slices.Equal(got, []ModelID{"cyc1", "m", "cyc2", "ft", "other", "base"}) {
		t.Errorf("ancestors %v", got)
	}
	if !slices.Equal(a.Roots, []ModelID{"base", "other"}) {
		t.Errorf("roots %v", a.Roots)
	}
	if a.Distance["base"] != 3 {
		t.Errorf("distance to base %d", a.Distance["base"])
	}
}

// TestGraphCountMatchesFamilyCount checks the in-memory whole-graph counter
// against Family.Count on random graphs with cycles, self-loops and merges.
func TestGraphCountMatchesFamilyCount(t *testing.T) {
	rels := []Relation{Adapter, Finetune, Merge, Quantized}
	for seed := 0; seed < 50; seed++ {
		r := newRand(uint64(seed))
		n := 5 + r.IntN(40)
		var src mapSource
		seen := map[Edge]bool{}
		for k := 0; k < n*2; k++ {
			e := Edge{ModelID(fmt.Sprint("m", r.IntN(n))), ModelID(fmt.Sprint("m", r.IntN(n))), rels[r.IntN(4)]}
			if !seen[e] {
				seen[e] = true
				src = append(src, e)
			}
		}
		sortEdges(src)
		b := NewGraphBuilder(n)
		for i := 0; i < n; i++ {
			b.Node(ModelID(fmt.Sprint("m", i)), nil)
		}
		for _, e := range src {
			if err := b.Edge(e); err != nil {
				t.Fatal(err)
			}
		}
		g := b.Graph()
		w := g.NewWalker()
		for i := 0; i < n; i++ {
			id := ModelID(fmt.Sprint("m", i))
			f, _ := LoadFamily(context.Background(), src, id, -1)
			gi, _ := g.Index(id)
			if got, want := w.Count(gi, nil), f.Count(); got != want {
				t.Fatalf("seed %d, %s: graph %+v, family %+v", seed, id, got, want)
			}
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

func TestCSRRoundTrip(t *testing.T) {
	b := NewGraphBuilder(4)
	for _, e := range edges("a>finetune>b a>adapter>b b>weird>c c>merge>a d>quantized>d") {
		b.Edge(e)
	}
	g := b.Graph()
	raw, err := g.MarshalCSR(77)
	if err != nil {
		t.Fatal(err)
	}
	h, tag, err := UnmarshalCSR(raw)
	if err != nil || tag != 77 {
		t.Fatalf("tag %d, %v", tag, err)
	}
	var want, got []Edge
	g.Edges(func(e Edge) { want = append(want, e) })
	h.Edges(func(e Edge) { got = append(got, e) })
	if !slices.Equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	i, _ := h.Index("a")
	j, _ := g.Index("a")
	if h.NewWalker().Count(i, nil) != g.NewWalker().Count(j, nil) {
		t.Error("counts differ after round trip")
	}
	for cut := 0; cut < len(raw); cut += 7 {
		if _, _, err := UnmarshalCSR(raw[:cut]); err == nil {
			t.Errorf("truncated at %d accepted", cut)
		}
	}
}

func FuzzUnmarshalCSR(f *testing.F) {
	b := NewGraphBuilder(2)
	b.Edge(Edge{"a", "b", Finetune})
	raw, _ := b.Graph().MarshalCSR(1)
	f.Add(raw)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, _, err := UnmarshalCSR(data)
		if err != nil {
			return
		}
		w := g.NewWalker()
		for i := 0; i < g.Len(); i++ {
			w.Count(i, nil) // must not panic on any accepted input
		}
	})
}

func TestGraphFamilyMatchesLoadFamily(t *testing.T) {
	src := edges("r>finetune>a a>finetune>b b>finetune>c a>finetune>r b>merge>a c>quantized>c r>adapter>c x>merge>b")
	sortEdges(src)
	b := NewGraphBuilder(8)
	for _, e := range src {
		b.Edge(e)
	}
	g := b.Graph()
	for _, depth := range []int{-1, 0, 1, 2} {
		want, _ := LoadFamily(context.Background(), src, "r", depth)
		got, _ := g.Family(context.Background(), "r", depth)
		if !slices.Equal(got.SortedMembers(), want.SortedMembers()) || !slices.Equal(got.Edges, want.Edges) || got.Count() != want.Count() {
			t.Errorf("depth %d:\n got %v %v\nwant %v %v", depth, got.SortedMembers(), got.Edges, want.SortedMembers(), want.Edges)
		}
	}
}
