package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hflineage/hflineage/query"
)

// Ecosystems on the API: wherever a model is counted, a pattern names
// many models ("meta-llama/*", "Qwen/Qwen2.5-*", or several of them
// separated by commas; query.IsEcosystem), and /api/v1/compare sets
// ecosystems side by side. The answers are the engine's, with the CLI's
// --json keys.

// Bounds of the ecosystem routes' parameters: what one request may ask.
const (
	minCompared    = 2   // ecosystems per comparison
	maxCompared    = 8   // (each one a walk of its members)
	maxCompareList = 50  // top members and overlap examples per entry
	defaultOrgs    = 20  // organisations listed without top
	maxOrgs        = 200 // organisations listed at most
)

// countOrEcosystem answers GET /api/v1/count: an ecosystem's count when
// model names one, else the one model's family exactly as count does.
func (s *Server) countOrEcosystem(w http.ResponseWriter, r *http.Request) {
	spec := r.URL.Query().Get("model")
	if !query.IsEcosystem(spec) {
		s.count(w, r)
		return
	}
	c, err := s.q.CountEcosystem(r.Context(), spec)
	if err != nil {
		s.failEcosystem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// historyOrEcosystem answers GET /api/v1/history: an ecosystem's size
// over the runs when model names one, else as history does (a family's,
// or the runs without model).
func (s *Server) historyOrEcosystem(w http.ResponseWriter, r *http.Request) {
	spec := r.URL.Query().Get("model")
	if !query.IsEcosystem(spec) {
		s.history(w, r)
		return
	}
	h, err := s.q.HistoryOfEcosystem(r.Context(), spec)
	if err != nil {
		s.failEcosystem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// compare answers GET /api/v1/compare?ecosystem=A&ecosystem=B[…]
// [&top=N][&examples=N]: compare --json.
func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	ecos := r.URL.Query()["ecosystem"]
	if len(ecos) < minCompared || len(ecos) > maxCompared {
		s.fail(w, r, badParam("ecosystem", fmt.Sprintf("must be given %d to %d times (a pattern such as meta-llama/* each), not %d", minCompared, maxCompared, len(ecos))))
		return
	}
	for _, e := range ecos {
		if strings.TrimSpace(e) == "" {
			s.fail(w, r, badParam("ecosystem", "must not be empty"))
			return
		}
	}
	o := query.CompareOptions{Ecosystems: ecos}
	for _, p := range []struct {
		name string
		into *int
	}{{"top", &o.Top}, {"examples", &o.Examples}} {
		n, err := boundedParam(r, p.name, 5, maxCompareList)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		*p.into = n
	}
	c, err := s.q.Compare(r.Context(), o)
	if err != nil {
		s.failEcosystem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// organisations answers GET /api/v1/organisations[?top=N]: the largest
// organisations by derivatives.
func (s *Server) organisations(w http.ResponseWriter, r *http.Request) {
	top, err := boundedParam(r, "top", defaultOrgs, maxOrgs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgs, err := s.q.Organisations(r.Context(), top)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]query.OrgSize{"organisations": orgs})
}

// boundedParam reads an optional integer parameter from 1 to most.
func boundedParam(r *http.Request, name string, def, most int) (int, error) {
	n, err := intParam(r, name, def)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > most {
		return 0, badParam(name, fmt.Sprintf("must be from 1 to %d", most))
	}
	return n, nil
}

// failEcosystem is fail, with a pattern that matches no model a 404 as an
// unknown model is.
func (s *Server) failEcosystem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, query.ErrNoMatch) {
		writeError(w, http.StatusNotFound, err)
		return
	}
	s.fail(w, r, err)
}
