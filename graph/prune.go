package graph

import (
	"context"
	"iter"
	"slices"
	"sort"
)

// TakeWithPaths keeps nodes for a pruned picture: it walks ranked in
// order and takes each node together with its path up (up gives a node's
// next node towards a root; false at a root), stopping at a node already
// kept, as long as at most maxNodes are kept in all. A node whose path
// does not fit is skipped. kept, add and n are the set kept so far and its
// size. ranked is read only as far as needed (it may order lazily). When
// ctx ends it stops and returns ctx's error.
func TakeWithPaths[N comparable](ctx context.Context, ranked iter.Seq[N], up func(N) (N, bool), kept func(N) bool, add func(N), n, maxNodes int) error {
	var path []N
	i := 0
	for id := range ranked {
		if err := canceled(ctx, i); err != nil {
			return err
		}
		i++
		if n >= maxNodes {
			break
		}
		path = path[:0]
		for x, ok := id, true; ok && !kept(x); x, ok = up(x) {
			path = append(path, x)
		}
		if n+len(path) > maxNodes {
			continue
		}
		for _, x := range path {
			add(x)
		}
		n += len(path)
	}
	return nil
}

// Prune keeps at most maxNodes models of the whole graph, for a picture of
// it: models in decreasing order of weight (ties by id), each taken only
// together with its shortest path up to a root, so that every kept model
// is drawn with where it comes from. Only models with lineage take part:
// a model without a parent or child (a self-loop does not count) is left
// out, however downloaded. A root is a model with children and no parent;
// models reachable only through a cycle hang from the first of them in id
// order. keep, if not nil, says which relations to follow: edges of the
// others are left out, and so is lineage through them alone. Edges between
// kept models are kept.
//
// The result is a Family without a Root (Root is empty; Members, sorted by
// id, and Edges are set; Depth is each member's distance from its root),
// ready for WriteFamily. maxNodes ≤ 0 keeps every model. When ctx ends it
// stops and returns ctx's error.
func (g *Graph) Prune(ctx context.Context, maxNodes int, weight func(i int) int64, keep func(Relation) bool) (*Family, error) {
	n := len(g.ids)
	follow := func(k int32) bool { return keep == nil || keep(g.rel[k]) }
	// Which models have lineage, and which have a parent.
	in := make([]bool, n)
	hasParent := make([]bool, n)
	for i := 0; i < n; i++ {
		if err := canceled(ctx, i); err != nil {
			return nil, err
		}
		for k := g.off[i]; k < g.off[i+1]; k++ {
			if c := g.dst[k]; follow(k) && c != int32(i) {
				in[i], in[c], hasParent[c] = true, true, true
			}
		}
	}
	// Breadth-first from every root at once: via is each model's next step
	// towards its nearest root (-1 at a root).
	via := make([]int32, n)
	depth := make([]int32, n)
	for i := range via {
		via[i], depth[i] = -2, 0 // -2: not reached yet
	}
	var queue []int32
	walk := func(start []int32) error {
		queue = append(queue[:0], start...)
		for _, r := range start {
			via[r] = -1
		}
		for h := 0; h < len(queue); h++ {
			if err := canceled(ctx, h); err != nil {
				return err
			}
			p := queue[h]
			for k := g.off[p]; k < g.off[p+1]; k++ {
				if c := g.dst[k]; follow(k) && via[c] == -2 {
					via[c], depth[c] = p, depth[p]+1
					queue = append(queue, c)
				}
			}
		}
		return nil
	}
	var roots []int32
	for i := 0; i < n; i++ {
		if in[i] && !hasParent[i] {
			roots = append(roots, int32(i))
		}
	}
	if err := walk(roots); err != nil {
		return nil, err
	}
	var ranked []int32
	for i := 0; i < n; i++ {
		if in[i] {
			ranked = append(ranked, int32(i))
		}
	}
	byID := func(a, b int32) bool { return g.ids[a] < g.ids[b] }
	sort.Slice(ranked, func(a, b int) bool { return byID(ranked[a], ranked[b]) })
	for _, i := range ranked { // only cycles lead here: hang each from its first member
		if via[i] == -2 {
			if err := walk([]int32{i}); err != nil {
				return nil, err
			}
		}
	}
	kept := make([]bool, n)
	if maxNodes > 0 && maxNodes < len(ranked) {
		w := make([]int64, n)
		for _, i := range ranked {
			w[i] = weight(int(i))
		}
		sort.SliceStable(ranked, func(a, b int) bool { return w[ranked[a]] > w[ranked[b]] })
		up := func(i int32) (int32, bool) { return via[i], via[i] >= 0 }
		err := TakeWithPaths(ctx, slices.Values(ranked), up, func(i int32) bool { return kept[i] }, func(i int32) { kept[i] = true }, 0, maxNodes)
		if err != nil {
			return nil, err
		}
	} else {
		for _, i := range ranked {
			kept[i] = true
		}
	}
	f := &Family{Depth: map[ModelID]int{}, via: map[ModelID]ModelID{}}
	for i := 0; i < n; i++ {
		if err := canceled(ctx, i); err != nil {
			return nil, err
		}
		if !kept[i] {
			continue
		}
		id := g.ids[i]
		f.Members = append(f.Members, id)
		f.Depth[id] = int(depth[i])
		if via[i] >= 0 {
			f.via[id] = g.ids[via[i]]
		}
		for k := g.off[i]; k < g.off[i+1]; k++ {
			if follow(k) && kept[g.dst[k]] {
				f.Edges = append(f.Edges, Edge{Parent: id, Child: g.ids[g.dst[k]], Relation: g.rel[k]})
			}
		}
	}
	sort.Slice(f.Members, func(a, b int) bool { return f.Members[a] < f.Members[b] })
	sortEdges(f.Edges)
	return f, ctx.Err()
}
