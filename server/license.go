package server

import (
	"net/http"

	"github.com/hflineage/hflineage/query"
)

// maxLicenseTop bounds top of /api/v1/licenses.
const maxLicenseTop = 100

// licenses answers GET /api/v1/licenses?model=SPEC[&top=N][&edges=true]:
// licenses --json of a family (model, an id) or an ecosystem (a pattern or
// a comma list): every edge's licence change classified, counted per
// parent licence, the paths to the most downloaded derivatives that
// relaxed their parent's licence and, for a family, its root's ancestry
// with licences (the model page colours it).
func (s *Server) licenses(w http.ResponseWriter, r *http.Request) {
	m, err := modelParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	top, err := boundedParam(r, "top", 10, maxLicenseTop)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	edges, err := boolParam(r, "edges")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lp, err := s.q.Licenses(r.Context(), query.LicenseOptions{Model: m, Top: top, Edges: edges})
	if err != nil {
		s.failEcosystem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, lp)
}
