package store

import (
	"context"
	"slices"

	"github.com/hflineage/hflineage/graph"
)

// FamilyPopularity sizes root's family as FamilyCount does and sums the
// popularity of its descendants (graph.Popularity; root's own is not in
// it): for a large family from graph.bin when it is current (NodeTable),
// else from their records in one forward pass (Reader.ModelsOf). A
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
			ids = f.Members[1:] // Root first, then its descendants
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
	p, err := s.popularity(ctx, ids, !small)
	if err != nil {
		return graph.FamilyCount{}, graph.Popularity{}, err
	}
	return c, p, ctx.Err()
}

// Popularity sums the popularity of the models ids names (graph.Popularity;
// each id once, in any order): from graph.bin when it is current and the
// models are many (NodeTable), else from their records in one forward pass
// (Reader.ModelsOf). An id without a record counts as a stub: no
// downloads, no likes, no all-time downloads. When ctx ends it stops and
// returns ctx's error.
func (s *Store) Popularity(ctx context.Context, ids []graph.ModelID) (graph.Popularity, error) {
	return s.popularity(ctx, ids, len(ids) > seekBudget)
}

func (s *Store) popularity(ctx context.Context, ids []graph.ModelID, many bool) (graph.Popularity, error) {
	if !slices.IsSorted(ids) {
		ids = slices.Clone(ids)
		slices.Sort(ids)
	}
	if many {
		p, ok, err := s.tablePopularity(ctx, ids, nil)
		if err != nil || ok {
			return p, err
		}
	}
	var p graph.Popularity
	err := s.View(ctx, func(r *Reader) error {
		return r.ModelsOf(ids, func(m graph.Model) error {
			info := graph.NodeInfoOf(&m)
			p.Add(&info)
			return nil
		})
	})
	if err != nil {
		return graph.Popularity{}, err
	}
	return p, ctx.Err()
}

// tablePopularity sums the popularity of ids (sorted, distinct) from
// graph.bin; ok is false when the file is not current, or a record in it
// cannot be read (the caller reads the records instead). Many ids are
// found by one merge of both sorted lists, a few by a bisection each;
// merge, when not nil, chooses (for tests).
func (s *Store) tablePopularity(ctx context.Context, ids []graph.ModelID, merge *bool) (p graph.Popularity, ok bool, err error) {
	t, release, err := s.NodeTable(ctx)
	if err != nil || t == nil {
		return p, false, err
	}
	defer release()
	add := func(k int) bool {
		info := graph.NodeInfo{Stub: true}
		if k >= 0 {
			var ok bool
			if info, ok = t.Record(k); !ok {
				return false
			}
		}
		p.Add(&info)
		return true
	}
	if merge != nil && *merge || merge == nil && len(ids) > t.Len()/32 {
		for _, k := range t.Align(len(ids), func(i int) graph.ModelID { return ids[i] }) {
			if !add(int(k)) {
				return graph.Popularity{}, false, nil
			}
		}
		return p, true, ctx.Err()
	}
	for _, id := range ids {
		info, found := t.Find(id)
		if !found {
			info = graph.NodeInfo{Stub: true}
		}
		p.Add(&info)
	}
	return p, true, ctx.Err()
}
