package query

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// encodeTimeline writes the selection as GEXF with time spans (Gephi's
// timeline): each model from its creation (or its first crawl) to the run
// that found it gone, each edge likewise, and what runs removed that the
// database no longer holds, with the spans their removal closed. Of a
// family, the gone edges out of its members and the gone models they led
// to (one level below the current members) are kept.
func (e *Engine) encodeTimeline(ctx context.Context, r *store.Reader, s Selection, root graph.ModelID, w io.Writer) (int, error) {
	var f *graph.Family
	var err error
	switch {
	case root == "" && s.MaxNodes > 0:
		f, err = e.pruneAll(ctx, s)
	case root != "":
		f, err = e.selectFamily(ctx, r, s, root)
	}
	if err != nil {
		return 0, err
	}
	var member map[graph.ModelID]bool
	if f != nil {
		member = make(map[graph.ModelID]bool, len(f.Members))
		for _, m := range f.Members {
			member[m] = true
		}
	}
	tl, err := e.timeline(ctx, r, member, s.Relations)
	if err != nil {
		return 0, err
	}
	enc := graph.NewGEXFEncoder(w, tl)
	if f == nil {
		return e.writeAll(ctx, r, s, enc)
	}
	return len(f.Members), graph.WriteFamily(ctx, enc, f, r.ModelsOf, nil)
}

// timeline reads every run's log of changes, in order, into the spans of
// a GEXF export. member, if not nil, keeps only the gone edges out of its
// models (and the gone models they lead to); rels, if not nil, only edges
// of those relations.
func (e *Engine) timeline(ctx context.Context, r *store.Reader, member map[graph.ModelID]bool, rels map[graph.Relation]bool) (graph.Timeline, error) {
	tl := graph.Timeline{Seen: map[graph.ModelID]time.Time{}, EdgeSeen: map[graph.Edge]time.Time{}, Removed: map[graph.ModelID]time.Time{}, EdgeRemoved: map[graph.Edge]time.Time{}}
	runs, err := e.st.Runs(ctx)
	if err != nil || len(runs) == 0 {
		return tl, err
	}
	for i, run := range runs {
		at := run.Ended()
		if i == 0 {
			tl.First = at
		}
		if !run.LogChanges {
			continue
		}
		ch, err := e.st.Changes(ctx, run.ID, nil, nil)
		if err != nil {
			return tl, err
		}
		for _, id := range ch.ModelsAdded {
			if _, ok := tl.Seen[id]; !ok {
				tl.Seen[id] = at
			}
			delete(tl.Removed, id)
		}
		for _, id := range ch.ModelsRemoved {
			tl.Removed[id] = at
		}
		for _, ed := range ch.EdgesAdded {
			if _, ok := tl.EdgeSeen[ed]; !ok {
				tl.EdgeSeen[ed] = at
			}
			delete(tl.EdgeRemoved, ed)
		}
		for _, ed := range ch.EdgesRemoved {
			tl.EdgeRemoved[ed] = at
		}
	}
	// What was removed and is not back: gone, unless the database holds it.
	gone := map[graph.ModelID]bool{}
	for id := range tl.Removed {
		if _, err := r.Model(id); errors.Is(err, store.ErrNotFound) {
			gone[id] = true
		} else if err != nil {
			return tl, err
		}
	}
	for ed := range tl.EdgeRemoved {
		if rels != nil && !rels[ed.Relation] {
			continue
		}
		if member != nil && !member[ed.Parent] {
			continue
		}
		tl.GoneEdges = append(tl.GoneEdges, ed)
		if gone[ed.Child] && member != nil {
			tl.Gone = append(tl.Gone, ed.Child)
		}
	}
	if member == nil {
		for id := range gone {
			tl.Gone = append(tl.Gone, id)
		}
	}
	return tl, nil
}
