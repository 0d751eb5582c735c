package store

import (
	"context"
	"slices"

	"github.com/hflineage/hflineage/graph"
)

// FamilyPopularity sizes root's family as FamilyCount does and sums the
// popularity of its descendants (graph.Popularity; root's own is not in
// it), read from their records in one forward pass (Reader.ModelsOf). A
// descendant without a record counts as a stub: no downloads, no likes, no
// all-time downloads. When ctx ends it stops and returns ctx's error.
func (s *Store) FamilyPopularity(ctx context.Context, root graph.ModelID) (graph.FamilyCount, graph.Popularity, error) {
	var c graph.FamilyCount
	var ids []graph.ModelID
	f, small, err := s.smallFamily(ctx, root, -1)
	switch {
	case err != nil:
		return graph.FamilyCount{}, graph.Popularity{}, err
	case small:
		c = f.Count()
		if len(f.Members) > 1 {
			ids = slices.Clone(f.Members[1:]) // Root first, then its descendants
		}
	default:
		g, err := s.CachedEdgeGraph(ctx)
		if err != nil {
			return graph.FamilyCount{}, graph.Popularity{}, err
		}
		i, ok := g.Index(root)
		if !ok {
			return graph.FamilyCount{Model: root}, graph.Popularity{}, ctx.Err()
		}
		c = g.NewWalker().Count(i, func(node, _ int) { ids = append(ids, g.NodeID(int32(node))) })
	}
	slices.Sort(ids)
	var p graph.Popularity
	err = s.View(ctx, func(r *Reader) error {
		return r.ModelsOf(ids, func(m graph.Model) error {
			info := graph.NodeInfoOf(&m)
			p.Add(&info)
			return nil
		})
	})
	if err != nil {
		return graph.FamilyCount{}, graph.Popularity{}, err
	}
	return c, p, ctx.Err()
}
