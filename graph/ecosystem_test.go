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

// bruteEcosystem sizes the union of roots' families from edge lists alone,
// without the walk's code: reachability by repeated passes over every edge,
// distances by relaxation.
func bruteEcosystem(edges []Edge, roots []ModelID) (members map[ModelID]int, children, desc RelationCounts, shared int, own map[ModelID]int) {
	isRoot := map[ModelID]bool{}
	for _, r := range roots {
		isRoot[r] = true
	}
	reach := func(from ModelID) map[ModelID]int { // node → distance
		dist := map[ModelID]int{from: 0}
		for changed := true; changed; {
			changed = false
			for _, e := range edges {
				d, ok := dist[e.Parent]
				if !ok {
					continue
				}
				if old, seen := dist[e.Child]; !seen || d+1 < old {
					dist[e.Child] = d + 1
					changed = true
				}
			}
		}
		delete(dist, from)
		return dist
	}
	members = map[ModelID]int{}
	inFamilies := map[ModelID]int{}
	own = map[ModelID]int{}
	for _, r := range roots {
		fam := reach(r)
		own[r] = len(fam)
		for m, d := range fam {
			if isRoot[m] {
				continue
			}
			inFamilies[m]++
			if old, ok := members[m]; !ok || d < old {
				members[m] = d
			}
		}
	}
	for _, k := range inFamilies {
		if k >= 2 {
			shared++
		}
	}
	type key struct {
		id  ModelID
		rel Relation
	}
	seenDesc, seenChild := map[key]bool{}, map[key]bool{}
	direct := map[ModelID]bool{}
	for _, e := range edges {
		_, childIn := members[e.Child]
		_, parentIn := members[e.Parent]
		if !childIn || !(parentIn || isRoot[e.Parent]) {
			continue
		}
		if k := (key{e.Child, e.Relation}); !seenDesc[k] {
			seenDesc[k] = true
			desc.add(e.Relation)
		}
		if isRoot[e.Parent] {
			direct[e.Child] = true
			if k := (key{e.Child, e.Relation}); !seenChild[k] {
				seenChild[k] = true
				children.add(e.Relation)
			}
		}
	}
	desc.Total, children.Total = len(members), len(direct)
	return members, children, desc, shared, own
}

// randomLineage returns n models and random edges among them: mostly from
// older to newer models, with some back edges (cycles) and self-loops as the
// Hub's declared lineage has; no edge twice, as in a store.
func randomLineage(rng *rand.Rand, n, m int) []Edge {
	var es []Edge
	seen := map[Edge]bool{}
	for range m {
		p, c := rng.IntN(n), rng.IntN(n)
		if p > c && rng.IntN(10) > 0 {
			p, c = c, p
		}
		e := Edge{Parent: ModelID(fmt.Sprintf("org%d/m%03d", p%3, p)), Child: ModelID(fmt.Sprintf("org%d/m%03d", c%3, c)), Relation: Relations[rng.IntN(len(Relations))]}
		if !seen[e] {
			seen[e] = true
			es = append(es, e)
		}
	}
	return es
}

func TestWalkEcosystemEqualsBruteForce(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			n := 5 + rng.IntN(60)
			edges := randomLineage(rng, n, rng.IntN(3*n))
			b := NewGraphBuilder(n)
			for _, e := range edges {
				if err := b.Edge(e); err != nil {
					t.Fatal(err)
				}
			}
			g := b.Graph()
			if g.Len() == 0 {
				t.Skip("no edges")
			}
			var roots []ModelID
			var nums []int32
			for range 1 + rng.IntN(5) {
				i := rng.IntN(g.Len())
				roots = append(roots, g.ID(i))
				nums = append(nums, int32(i))
			}
			nums = append(nums, nums[0]) // a root named twice counts once
			w, err := WalkEcosystem(context.Background(), g, nums)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(roots)
			roots = slices.Compact(roots)
			members, children, desc, shared, own := bruteEcosystem(edges, roots)
			got := map[ModelID]int{}
			for k, m := range w.Members {
				got[g.ID(int(m))] = int(w.Depth[k])
			}
			if fmt.Sprint(got) != fmt.Sprint(members) {
				t.Errorf("members and depths:\n got %v\nwant %v", got, members)
			}
			if w.Children != children || w.Descendants != desc {
				t.Errorf("children %+v descendants %+v; want %+v %+v", w.Children, w.Descendants, children, desc)
			}
			if w.Shared != shared {
				t.Errorf("shared %d; want %d", w.Shared, shared)
			}
			maxDepth := 0
			for _, d := range members {
				maxDepth = max(maxDepth, d)
			}
			if w.MaxDepth != maxDepth {
				t.Errorf("max depth %d; want %d", w.MaxDepth, maxDepth)
			}
			ownFamilies, err := w.OwnFamilies(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			gotOwn := map[ModelID]int{}
			for _, c := range ownFamilies {
				gotOwn[c.Model] = c.Descendants.Total
			}
			for id, n := range own {
				if n == 0 {
					delete(own, id) // roots without descendants are left out
				}
			}
			if fmt.Sprint(gotOwn) != fmt.Sprint(own) {
				t.Errorf("own families %v; want %v", gotOwn, own)
			}
			for k, m := range w.Members { // the origin is a nearest root
				r := g.ID(int(w.Roots[w.Origin[k]]))
				fam, _, _, _, _ := bruteEcosystem(edges, []ModelID{r})
				if d, ok := fam[g.ID(int(m))]; !ok || d != int(w.Depth[k]) {
					t.Errorf("member %s at depth %d: origin %s reaches it at %d (%v)", g.ID(int(m)), w.Depth[k], r, d, ok)
				}
			}
		})
	}
}

// One root: the ecosystem is the family, as Count sizes it.
func TestWalkEcosystemOfOneRootIsItsFamily(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	edges := randomLineage(rng, 200, 500)
	b := NewGraphBuilder(200)
	for _, e := range edges {
		if err := b.Edge(e); err != nil {
			t.Fatal(err)
		}
	}
	g := b.Graph()
	walker := g.NewWalker()
	for i := range g.Len() {
		w, err := WalkEcosystem(context.Background(), g, []int32{int32(i)})
		if err != nil {
			t.Fatal(err)
		}
		c := walker.Count(i, nil)
		own, err := w.OwnFamilies(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		if w.Children != c.Children || w.Descendants != c.Descendants || w.MaxDepth != c.MaxDepth || w.Shared != 0 || c.Descendants.Total > 0 && own[0] != c {
			t.Fatalf("%s: ecosystem %+v %+v %d; family %+v", g.ID(i), w.Children, w.Descendants, w.MaxDepth, c)
		}
	}
}

func TestWalkEcosystemStopsWithContext(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	b := NewGraphBuilder(100)
	for _, e := range randomLineage(rng, 100, 300) {
		b.Edge(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WalkEcosystem(ctx, b.Graph(), []int32{0}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled walk: %v", err)
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in      string
		err     error
		org     string
		match   []ModelID
		nomatch []ModelID
	}{
		{in: "meta-llama/*", org: "meta-llama", match: []ModelID{"meta-llama/Llama-2-7b", "Meta-Llama/x"}, nomatch: []ModelID{"meta-llama2/x", "other/meta-llama"}},
		{in: "Qwen/Qwen2.5-*", org: "Qwen", match: []ModelID{"Qwen/Qwen2.5-7B", "qwen/qwen2.5-0.5b-instruct"}, nomatch: []ModelID{"Qwen/Qwen2-7B"}},
		{in: "meta-llama/Llama-2-7b", org: "meta-llama", match: []ModelID{"meta-llama/llama-2-7B"}, nomatch: []ModelID{"meta-llama/Llama-2-7b-hf"}},
		{in: "*/Llama-*", match: []ModelID{"a/Llama-3"}, nomatch: []ModelID{"a/b/Llama-3", "Llama-3"}},
		{in: "gpt?", match: []ModelID{"gpt2"}, nomatch: []ModelID{"org/gpt2", "gpt22"}},
		{in: "*", err: ErrMatchesAll},
		{in: "*/*", err: ErrMatchesAll},
		{in: "**/?", err: ErrMatchesAll},
		{in: "", err: ErrInvalidID},
		{in: "meta-llama/*/x", err: ErrInvalidID},
		{in: "meta llama/*", err: ErrInvalidID},
		{in: "org/--*", err: ErrInvalidID},
		{in: "org/é*", err: ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePattern(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParsePattern(%q) = %v; want %v", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Org() != tt.org || p.String() != tt.in {
				t.Errorf("org %q string %q", p.Org(), p.String())
			}
			for _, id := range tt.match {
				if !p.Match(id) {
					t.Errorf("%s does not match %s", tt.in, id)
				}
			}
			for _, id := range tt.nomatch {
				if p.Match(id) {
					t.Errorf("%s matches %s", tt.in, id)
				}
			}
		})
	}
}

func TestParseEcosystem(t *testing.T) {
	e, err := ParseEcosystem("meta-llama/*, mistralai/Mistral-7B-v0.1")
	if err != nil || len(e.Patterns) != 2 || e.Single() || !e.Match("mistralai/mistral-7b-v0.1") || !e.Match("meta-llama/x") || e.Match("mistralai/x") {
		t.Errorf("ParseEcosystem: %+v, %v", e, err)
	}
	if e, err := ParseEcosystem("gpt2"); err != nil || !e.Single() {
		t.Errorf("one id: %+v, %v", e, err)
	}
	for _, bad := range []string{"a/b,", ",a/b", "a/b,,c/d", "a/b,*"} {
		if _, err := ParseEcosystem(bad); err == nil {
			t.Errorf("ParseEcosystem(%q) accepted", bad)
		}
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"meta-llama/*", "Qwen/Qwen2.5-*", "*", "a?b/c*d", "x/y"} {
		f.Add(s, "meta-llama/Llama-2-7b")
	}
	f.Fuzz(func(t *testing.T, pat, id string) {
		p, err := ParsePattern(pat)
		if err != nil {
			return
		}
		if !p.Glob() {
			if _, err := ParseModelID(pat); err != nil {
				t.Fatalf("plain pattern %q is not an id: %v", pat, err)
			}
		}
		if p.Match(ModelID(id)) && len(id) < len(p.Prefix()) {
			t.Fatalf("%q matches %q, shorter than its prefix %q", pat, id, p.Prefix())
		}
	})
}

// Each organisation's derivatives are the ecosystem of its models.
func TestOrganisationsAreEcosystems(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	b := NewGraphBuilder(300)
	for _, e := range randomLineage(rng, 300, 700) {
		if err := b.Edge(e); err != nil {
			t.Fatal(err)
		}
	}
	g := b.Graph()
	got, err := Organisations(context.Background(), g, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no organisation with derivatives")
	}
	for _, o := range got {
		var roots []int32
		for i := range g.Len() {
			if strings.HasPrefix(string(g.ID(i)), o.Org+"/") {
				roots = append(roots, int32(i))
			}
		}
		w, err := WalkEcosystem(context.Background(), g, roots)
		if err != nil {
			t.Fatal(err)
		}
		if o.Models != len(roots) || o.Derivatives != w.Descendants.Total {
			t.Errorf("%s: %+v; want %d models, %d derivatives", o.Org, o, len(roots), w.Descendants.Total)
		}
	}
	if top, _ := Organisations(context.Background(), g, 1); len(top) != 1 || top[0] != got[0] {
		t.Errorf("top 1: %+v; want %+v", top, got[0])
	}
}
