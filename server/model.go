package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/query"
)

// modelAnswer is GET /api/v1/model's answer: what the database holds of
// the model, and its page on the Hub the server crawls.
type modelAnswer struct {
	query.ModelInfo
	// HubURL is the model's page on the Hub the server's crawls read
	// (its endpoint: --endpoint, $HF_ENDPOINT or huggingface.co).
	HubURL string `json:"hub_url,omitempty"`
}

// model answers GET /api/v1/model?model=ID: the model's record (downloads,
// likes, license, dates, library, pipeline, gated, tags, parents), or 404
// for a model not in the database.
func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	m, err := modelParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info, err := s.q.Model(r.Context(), m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a := modelAnswer{ModelInfo: info}
	if base := s.hubBase(); base != "" {
		a.HubURL = base + "/" + string(info.ID)
	}
	writeJSON(w, http.StatusOK, a)
}

// hubBase is the base URL of the Hub the server crawls, for links to its
// pages: the configured endpoint without any user, password, query or
// fragment (a token is never part of it), "" when it is not a URL.
func (s *Server) hubBase() string {
	ep := s.cfg.Hub.Endpoint
	if ep == "" {
		ep = crawler.EndpointFromEnv()
	}
	u, err := url.Parse(strings.TrimRight(ep, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return u.String()
}
