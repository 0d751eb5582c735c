package graph

import (
	"context"
	"slices"
	"sort"
)

// EdgeSource yields the edges out of a model: one call of fn per
// (child, relation). It is how algorithms read a stored graph without
// knowing where it is stored. An error from fn must be returned unchanged.
type EdgeSource interface {
	ChildEdges(id ModelID, fn func(Edge) error) error
}

// ParentSource yields the edges into a model: one call of fn per
// (parent, relation).
type ParentSource interface {
	ParentEdges(id ModelID, fn func(Edge) error) error
}

// Family is a model and its descendants, found breadth-first so that each
// member's Depth is its shortest distance from Root. Cycles and self-loops in
// the declared lineage are harmless: each model is visited once.
type Family struct {
	Root ModelID
	// Members lists Root first, then every descendant in breadth-first order.
	Members []ModelID
	// Depth is each member's shortest-path distance from Root.
	Depth map[ModelID]int
	// Edges holds every stored edge between two members (including edges
	// back into Root and self-loops), sorted by parent, child, relation.
	Edges []Edge
	// via is each descendant's parent on one shortest path from Root.
	via map[ModelID]ModelID
	// sorted, if set, holds Members sorted by id (Graph.Family knows it).
	sorted []ModelID
}

// LoadFamily walks src breadth-first from root. maxDepth < 0 means no bound;
// otherwise members deeper than maxDepth are left out (and so are edges to them).
// When ctx ends it stops and returns ctx's error.
func LoadFamily(ctx context.Context, src EdgeSource, root ModelID, maxDepth int) (*Family, error) {
	f := &Family{
		Root:    root,
		Members: []ModelID{root},
		Depth:   map[ModelID]int{root: 0},
		via:     map[ModelID]ModelID{},
	}
	var pending []Edge // edges whose child lies beyond maxDepth are dropped below
	for i := 0; i < len(f.Members); i++ {
		if err := canceled(ctx, i); err != nil {
			return nil, err
		}
		id := f.Members[i]
		d := f.Depth[id]
		if maxDepth >= 0 && d >= maxDepth {
			// Still collect edges to members already known at depth ≤ maxDepth.
			err := src.ChildEdges(id, func(e Edge) error {
				pending = append(pending, e)
				return nil
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		err := src.ChildEdges(id, func(e Edge) error {
			if _, seen := f.Depth[e.Child]; !seen {
				f.Depth[e.Child] = d + 1
				f.via[e.Child] = id
				f.Members = append(f.Members, e.Child)
			}
			f.Edges = append(f.Edges, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, e := range pending {
		if _, in := f.Depth[e.Child]; in {
			f.Edges = append(f.Edges, e)
		}
	}
	sortEdges(f.Edges)
	return f, nil
}

func sortEdges(es []Edge) {
	sort.Slice(es, func(i, j int) bool { return edgeLess(es[i], es[j]) })
}

func edgeLess(a, b Edge) bool {
	if a.Parent != b.Parent {
		return a.Parent < b.Parent
	}
	if a.Child != b.Child {
		return a.Child < b.Child
	}
	return a.Relation < b.Relation
}

// RelationCounts counts distinct models per relation; a model with edges of
// several relations counts once under each, and once in Total.
type RelationCounts struct {
	Adapter   int `json:"adapter"`
	Finetune  int `json:"finetune"`
	Merge     int `json:"merge"`
	Quantized int `json:"quantized"`
	Total     int `json:"total"`
}

// Get returns the count for r (0 for relations outside Relations).
func (c RelationCounts) Get(r Relation) int {
	switch r {
	case Adapter:
		return c.Adapter
	case Finetune:
		return c.Finetune
	case Merge:
		return c.Merge
	case Quantized:
		return c.Quantized
	}
	return 0
}

func (c *RelationCounts) add(r Relation) {
	switch r {
	case Adapter:
		c.Adapter++
	case Finetune:
		c.Finetune++
	case Merge:
		c.Merge++
	case Quantized:
		c.Quantized++
	}
}

// FamilyCount is the size of a family as `hflineage count` reports it.
type FamilyCount struct {
	Model       ModelID        `json:"model"`
	Children    RelationCounts `json:"children"`
	Descendants RelationCounts `json:"descendants"`
	MaxDepth    int            `json:"max_depth"`
}

// Count sizes the family. Children.R counts distinct direct children with at
// least one R edge from Root; Descendants.R counts distinct descendants with
// at least one incoming R edge from Root or another descendant. Root itself
// is never counted, even when a cycle leads back to it.
func (f *Family) Count() FamilyCount {
	c := FamilyCount{Model: f.Root}
	type key struct {
		id  ModelID
		rel Relation
	}
	child := map[key]bool{}
	desc := map[key]bool{}
	direct := map[ModelID]bool{}
	for _, e := range f.Edges {
		if e.Child == f.Root {
			continue
		}
		if !desc[key{e.Child, e.Relation}] {
			desc[key{e.Child, e.Relation}] = true
			c.Descendants.add(e.Relation)
		}
		if e.Parent == f.Root {
			direct[e.Child] = true
			if !child[key{e.Child, e.Relation}] {
				child[key{e.Child, e.Relation}] = true
				c.Children.add(e.Relation)
			}
		}
	}
	c.Children.Total = len(direct)
	c.Descendants.Total = len(f.Members) - 1
	for _, d := range f.Depth {
		c.MaxDepth = max(c.MaxDepth, d)
	}
	return c
}

// Prune keeps at most maxNodes members: Root, then members in decreasing
// order of weight (ties by id), each taken only together with its shortest
// path to Root so that the result stays connected. Edges between kept members
// are kept. maxNodes ≤ 0 or ≥ len(Members) returns f unchanged. When ctx
// ends it stops and returns ctx's error.
func (f *Family) Prune(ctx context.Context, maxNodes int, weight func(ModelID) int64) (*Family, error) {
	if maxNodes <= 0 || maxNodes >= len(f.Members) {
		return f, nil
	}
	ranked := append([]ModelID(nil), f.Members[1:]...)
	w := make(map[ModelID]int64, len(ranked))
	for _, id := range ranked {
		w[id] = weight(id)
	}
	sort.Slice(ranked, func(i, j int) bool {
		if w[ranked[i]] != w[ranked[j]] {
			return w[ranked[i]] > w[ranked[j]]
		}
		return ranked[i] < ranked[j]
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	keep := map[ModelID]bool{f.Root: true}
	up := func(id ModelID) (ModelID, bool) { v, ok := f.via[id]; return v, ok }
	err := TakeWithPaths(ctx, slices.Values(ranked), up, func(id ModelID) bool { return keep[id] }, func(id ModelID) { keep[id] = true }, 1, maxNodes)
	if err != nil {
		return nil, err
	}
	p := &Family{Root: f.Root, Depth: map[ModelID]int{}, via: map[ModelID]ModelID{}}
	for _, id := range f.Members {
		if keep[id] {
			p.Members = append(p.Members, id)
			p.Depth[id] = f.Depth[id]
			if v, ok := f.via[id]; ok {
				p.via[id] = v
			}
		}
	}
	for i, e := range f.Edges {
		if err := canceled(ctx, i); err != nil {
			return nil, err
		}
		if keep[e.Parent] && keep[e.Child] {
			p.Edges = append(p.Edges, e)
		}
	}
	return p, nil
}

// SortedMembers returns the members sorted by id.
func (f *Family) SortedMembers() []ModelID {
	if f.sorted != nil {
		return slices.Clone(f.sorted)
	}
	s := append([]ModelID(nil), f.Members...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// Ancestry is a model's ancestors up to its roots.
type Ancestry struct {
	Model ModelID
	// Distance is each ancestor's shortest distance from Model (Model excluded).
	Distance map[ModelID]int
	// Edges holds every edge among Model and its ancestors, sorted.
	Edges []Edge
	// Roots are the ancestors that declare no parent of their own, sorted.
	Roots []ModelID
}

// LoadAncestors walks src upwards from id breadth-first. Cycles are
// harmless. When ctx ends it stops and returns ctx's error.
func LoadAncestors(ctx context.Context, src ParentSource, id ModelID) (*Ancestry, error) {
	a := &Ancestry{Model: id, Distance: map[ModelID]int{}}
	dist := map[ModelID]int{id: 0}
	queue := []ModelID{id}
	for step := 0; len(queue) > 0; step++ {
		if err := canceled(ctx, step); err != nil {
			return nil, err
		}
		n := queue[0]
		queue = queue[1:]
		parents := 0
		err := src.ParentEdges(n, func(e Edge) error {
			parents++
			a.Edges = append(a.Edges, e)
			if _, seen := dist[e.Parent]; !seen {
				dist[e.Parent] = dist[n] + 1
				a.Distance[e.Parent] = dist[n] + 1
				queue = append(queue, e.Parent)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if parents == 0 && n != id {
			a.Roots = append(a.Roots, n)
		}
	}
	sortEdges(a.Edges)
	sort.Slice(a.Roots, func(i, j int) bool { return a.Roots[i] < a.Roots[j] })
	return a, nil
}

// Ancestors returns the ancestors sorted by distance, then id.
func (a *Ancestry) Ancestors() []ModelID {
	out := make([]ModelID, 0, len(a.Distance))
	for id := range a.Distance {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := a.Distance[out[i]], a.Distance[out[j]]
		if di != dj {
			return di < dj
		}
		return out[i] < out[j]
	})
	return out
}
