package server

import (
	"fmt"
	"net/http"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// tree answers a model's lineage tree: ?model=ID, ?depth=N (default
// query.DefaultTreeDepth), ?relation=R (follow only its edges), ?max=N
// children under each model (default query.DefaultTreeMax, 0: all). Depth
// is at most MaxTreeDepth, max at most MaxTreeMax, and a tree lists at most
// graph.MaxTreeNodes models. A heavy request (limits.go).
func (s *Server) tree(w http.ResponseWriter, r *http.Request) {
	m, err := modelParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o := graph.TreeOptions{}
	if o.Depth, err = intParam(r, "depth", query.DefaultTreeDepth); err != nil {
		s.fail(w, r, err)
		return
	}
	if o.Max, err = intParam(r, "max", query.DefaultTreeMax); err != nil {
		s.fail(w, r, err)
		return
	}
	if o.Depth > MaxTreeDepth {
		s.fail(w, r, badParam("depth", fmt.Sprintf("must be at most %d on this server, not %d", MaxTreeDepth, o.Depth)))
		return
	}
	if o.Max > MaxTreeMax {
		s.fail(w, r, badParam("max", fmt.Sprintf("must be at most %d on this server (0: all, up to %d models in all), not %d", MaxTreeMax, graph.MaxTreeNodes, o.Max)))
		return
	}
	if rel := r.URL.Query().Get("relation"); rel != "" {
		if o.Relation, err = graph.ParseRelation(rel); err != nil {
			s.fail(w, r, badParam("relation", "must be adapter, finetune, merge or quantized"))
			return
		}
	}
	t, err := s.q.Tree(r.Context(), m, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}
