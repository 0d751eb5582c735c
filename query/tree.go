package query

import (
	"context"
	"errors"

	"github.com/hflineage/hflineage/graph"
)

// Tree is a model's lineage tree: tree --json and GET /api/v1/tree.
type Tree struct {
	Tree *graph.TreeNode `json:"tree"`
	// Complete is false when the last crawl of the family did not complete.
	Complete   bool        `json:"complete"`
	Incomplete *Incomplete `json:"incomplete,omitempty"`
}

// DefaultTreeDepth and DefaultTreeMax are a tree's depth and cap per
// model when not asked for others.
const (
	DefaultTreeDepth = 2
	DefaultTreeMax   = 10
)

// Tree returns the lineage tree of the model named (graph.BuildTree): its
// descendants to o.Depth levels (at least 1), at most o.Max children under
// each (0: all) and graph.MaxTreeNodes in all, following o.Relation's
// edges only when set. A depth below 1, a negative cap or a tree too
// costly to size (graph.ErrTreeTooCostly) is ErrInvalid.
func (e *Engine) Tree(ctx context.Context, name string, o graph.TreeOptions) (Tree, error) {
	if o.Depth < 1 {
		return Tree{}, invalidf("depth must be at least 1, not %d", o.Depth)
	}
	if o.Max < 0 {
		return Tree{}, invalidf("max must be 0 (all) or more, not %d", o.Max)
	}
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return Tree{}, err
	}
	// The tree and its verdict at one data version (see count), from the
	// live graph when one is to be made at a first read.
	if err := e.liveOnRead(ctx); err != nil {
		return Tree{}, err
	}
	snap, in, err := e.snapshotAndIncomplete(ctx, id)
	if err == nil && snap == nil {
		snap, err = e.snapshot(ctx) // no live graph: the stored one's
	}
	if err != nil {
		return Tree{}, err
	}
	out := Tree{Tree: &graph.TreeNode{ID: id}, Complete: in == nil, Incomplete: in}
	if i, ok := snap.Index(id); ok {
		if out.Tree, err = graph.BuildTree(ctx, snap, i, o); err != nil {
			if errors.Is(err, graph.ErrTreeTooCostly) {
				return Tree{}, invalidf("%v", err)
			}
			return Tree{}, err
		}
	}
	return out, ctx.Err()
}
