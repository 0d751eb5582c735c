package graph

import (
	"cmp"
	"context"
	"slices"
)

// TreeNode is one line of a lineage tree, as `npm ls` prints a dependency
// tree: a model, how it descends from the line above it, the size of its
// family, and the lines below it.
type TreeNode struct {
	ID ModelID `json:"id"`
	// Relation is how ID descends from its parent in the tree (the first
	// in sorted order when it names the parent more than once); "" at the
	// root.
	Relation Relation `json:"relation,omitempty"`
	// Descendants counts ID's distinct descendants by every relation, as
	// `count` does.
	Descendants int `json:"descendants"`
	// Seen: ID is printed earlier in the tree (reached by another path);
	// its children are listed there only.
	Seen bool `json:"seen,omitempty"`
	// Children are ID's children, most descendants first, then by id;
	// empty at the depth limit and when Seen.
	Children []*TreeNode `json:"children,omitempty"`
	// More counts the children left out by TreeOptions.Max.
	More int `json:"more,omitempty"`
}

// TreeOptions shape a lineage tree.
type TreeOptions struct {
	Depth    int      // levels below the root (at least 1)
	Relation Relation // "": every relation; else only edges of this one are followed
	Max      int      // children listed under each model (0: all); the rest are counted in More
}

// BuildTree returns the lineage tree of node root of a: its children,
// theirs, and so on to o.Depth levels, each level sorted by descendants
// (most first), then by id. A model reached again, in the order the tree
// is printed (depth first), is listed with Seen and no children, so that
// the tree is finite and holds each model's subtree once. When ctx ends it
// stops and returns ctx's error.
func BuildTree(ctx context.Context, a Adjacency, root int32, o TreeOptions) (*TreeNode, error) {
	w := NewWalkerOf(a)
	sizes := map[int32]int{}
	size := func(n int32) int {
		s, ok := sizes[n]
		if !ok {
			s = w.Count(int(n), nil).Descendants.Total
			sizes[n] = s
		}
		return s
	}
	seen := map[int32]bool{root: true}
	var grow func(n int32, t *TreeNode, depth int) error
	grow = func(n int32, t *TreeNode, depth int) error {
		if depth >= o.Depth {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		type kid struct {
			n    int32
			rel  Relation
			size int
		}
		var kids []kid
		dst, rels := a.Out(n)
		at := map[int32]int{} // a child's place in kids
		for k, c := range dst {
			if o.Relation != "" && rels[k] != o.Relation {
				continue
			}
			if i, ok := at[c]; ok {
				kids[i].rel = min(kids[i].rel, rels[k])
				continue
			}
			at[c] = len(kids)
			kids = append(kids, kid{n: c, rel: rels[k], size: size(c)})
		}
		slices.SortFunc(kids, func(x, y kid) int {
			if c := cmp.Compare(y.size, x.size); c != 0 {
				return c
			}
			return cmp.Compare(a.NodeID(x.n), a.NodeID(y.n))
		})
		if o.Max > 0 && len(kids) > o.Max {
			t.More = len(kids) - o.Max
			kids = kids[:o.Max]
		}
		for _, k := range kids {
			c := &TreeNode{ID: a.NodeID(k.n), Relation: k.rel, Descendants: k.size, Seen: seen[k.n]}
			t.Children = append(t.Children, c)
			if c.Seen {
				continue
			}
			seen[k.n] = true
			if err := grow(k.n, c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	t := &TreeNode{ID: a.NodeID(root), Descendants: size(root)}
	if err := grow(root, t, 0); err != nil {
		return nil, err
	}
	return t, nil
}
