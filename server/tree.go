package server

import (
	"net/http"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// tree answers a model's lineage tree: ?model=ID, ?depth=N (default
// query.DefaultTreeDepth), ?relation=R (follow only its edges), ?max=N
// children under each model (default query.DefaultTreeMax, 0: all).
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
