package graph

import (
	"cmp"
	"context"
	"errors"
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

// MaxTreeNodes caps the models a tree lists below its root, wherever they
// are: once it is reached, the children left are counted in More, as
// TreeOptions.Max's are. MaxTreeSizeWork caps the models the walks that
// size shared families may visit in one tree (ErrTreeTooCostly beyond).
const (
	MaxTreeNodes    = 10000
	MaxTreeSizeWork = 50_000_000
)

// ErrTreeTooCostly: sizing the families of a tree's models would visit
// more than MaxTreeSizeWork models (a family whose models share many
// descendants, at great depth); a smaller depth answers.
var ErrTreeTooCostly = errors.New("sizing this tree's families costs too much; ask for a smaller depth")

// sizeWalks counts the walks BuildTree makes to size a family (tests).
var sizeWalks func()

// BuildTree returns the lineage tree of node root of a: its children,
// theirs, and so on to o.Depth levels, each level sorted by descendants
// (most first), then by id. A model reached again, in the order the tree
// is printed (depth first), is listed with Seen and no children, so that
// the tree is finite and holds each model's subtree once. At most
// MaxTreeNodes models are listed below root; the children left once it is
// reached are counted in More. When ctx ends it stops and returns ctx's
// error.
//
// Each model's descendants are counted once: where a model's family is a
// tree (each of its descendants has one parent in root's family), as the
// sum of its children's; else by a walk, of at most MaxTreeSizeWork
// models in all.
func BuildTree(ctx context.Context, a Adjacency, root int32, o TreeOptions) (*TreeNode, error) {
	z, err := newTreeSizer(a, root)
	if err != nil {
		return nil, err
	}
	size := func(n int32) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return z.size(n)
	}
	budget := MaxTreeNodes
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
			sz, err := size(c)
			if err != nil {
				return err
			}
			at[c] = len(kids)
			kids = append(kids, kid{n: c, rel: rels[k], size: sz})
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
		if len(kids) > budget {
			t.More += len(kids) - budget
			kids = kids[:budget]
		}
		budget -= len(kids)
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
	t := &TreeNode{ID: a.NodeID(root), Descendants: z.total}
	if err := grow(root, t, 0); err != nil {
		return nil, err
	}
	return t, nil
}

// treeSizer counts the descendants of the models of root's family, each
// once.
type treeSizer struct {
	a     Adjacency
	w     *Walker
	root  int32
	total int           // root's descendants
	par   map[int32]int // distinct parents in root's family (root included)
	tree  map[int32]int // descendants of a model whose family is a tree; -1: not a tree
	sizes map[int32]int // descendants of the others, walked
	added map[int32]bool
	work  int // models visited by walks, after root's
}

// newTreeSizer walks root's family once, counting each member's parents.
func newTreeSizer(a Adjacency, root int32) (*treeSizer, error) {
	z := &treeSizer{a: a, w: NewWalkerOf(a), root: root, par: map[int32]int{}, tree: map[int32]int{}, sizes: map[int32]int{}, added: map[int32]bool{}}
	if sizeWalks != nil {
		sizeWalks()
	}
	var members []int32
	z.total = z.w.Count(int(root), func(n, _ int) { members = append(members, int32(n)) }).Descendants.Total
	members = append(members, root)
	last := map[int32]int32{} // the last parent counted, +1
	for _, n := range members {
		dst, _ := a.Out(n)
		for _, c := range dst {
			if last[c] != n+1 {
				last[c] = n + 1
				z.par[c]++
			}
		}
	}
	z.sizes[root] = z.total
	return z, nil
}

// size returns n's descendants (n in root's family).
func (z *treeSizer) size(n int32) (int, error) {
	if s, ok := z.sizes[n]; ok {
		return s, nil
	}
	if s, ok := z.tree[n]; ok && s >= 0 {
		return s, nil
	}
	// Post-order over the models below n whose only parent is the model
	// above them: their families are trees, whose sizes add up.
	type frame struct {
		n    int32
		next int // the next edge to look at
		sum  int
	}
	onStack := map[int32]bool{n: true}
	stack := []frame{{n: n}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		dst, _ := z.a.Out(f.n)
		tree := true
		for f.next < len(dst) {
			c := dst[f.next]
			if z.added[c] { // a second edge to c (its only parent is f.n)
				f.next++
				continue
			}
			if c == z.root || c == f.n || onStack[c] || z.par[c] != 1 {
				tree = false
				break
			}
			s, ok := z.tree[c]
			if !ok {
				onStack[c] = true
				stack = append(stack, frame{n: c})
				break
			}
			if s < 0 { // c's family is not a tree
				tree = false
				break
			}
			f.sum += 1 + s
			z.added[c] = true
			f.next++
		}
		if tree && f.next < len(dst) {
			continue // a child pushed
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		delete(onStack, top.n)
		if tree {
			z.tree[top.n] = top.sum
		} else {
			z.tree[top.n] = -1 // sized by a walk when asked
		}
	}
	if s := z.tree[n]; s >= 0 {
		return s, nil
	}
	if sizeWalks != nil {
		sizeWalks()
	}
	s := z.w.Count(int(n), func(int, int) { z.work++ }).Descendants.Total
	if z.work > MaxTreeSizeWork {
		return 0, ErrTreeTooCostly
	}
	z.sizes[n] = s
	return s, nil
}
