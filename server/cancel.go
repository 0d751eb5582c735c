package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hflineage/hflineage/query"
)

// Queue errors of Cancel (query's).
var (
	ErrNoSuchCrawl = query.ErrNoSuchCrawl
	ErrCrawlEnded  = query.ErrCrawlEnded
)

// CancelCrawl cancels crawl id, as DELETE /api/v1/crawl/{id} does: a
// queued crawl leaves the queue, a running one stops at its next commit
// with its position saved (running says which). An unknown id is
// ErrNoSuchCrawl, a crawl that has ended ErrCrawlEnded.
func (s *Server) CancelCrawl(id int) (running bool, err error) { return s.crawls.Cancel(id) }

// crawlDelete answers DELETE /api/v1/crawl/{id}: 200 {"canceled":ID,
// "was":"queued"} for a queued crawl, which is gone; 202 {"canceled":ID,
// "was":"running"} for a running one, which stops at its next commit (GET
// /api/v1/crawl then lists it finished, "canceled": true); 404 for an id
// this server never gave, 409 for a crawl that has ended.
func (s *Server) crawlDelete(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 1 {
		s.fail(w, r, badParam("id", fmt.Sprintf("must be a crawl's number (as POST /api/v1/crawl answered it), not %q", r.PathValue("id"))))
		return
	}
	running, err := s.crawls.Cancel(id)
	switch {
	case errors.Is(err, ErrNoSuchCrawl):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, ErrCrawlEnded):
		writeError(w, http.StatusConflict, err)
	case err != nil:
		s.fail(w, r, err)
	case running:
		writeJSON(w, http.StatusAccepted, map[string]any{"canceled": id, "was": "running"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"canceled": id, "was": "queued"})
	}
}

// crawlOther answers the other methods on /api/v1/crawl/{id}: 405.
func crawlOther(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "DELETE")
	writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: use DELETE (to cancel the crawl), or GET /api/v1/crawl", r.Method, r.URL.Path))
}
