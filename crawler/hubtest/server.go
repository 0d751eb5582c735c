package hubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake Hub serving a World over HTTP on loopback.
type Server struct {
	*httptest.Server
	World *World

	// MaxPageSize caps the models per listing page whatever limit is asked
	// (the real Hub's cap is undocumented). 0 means 1000.
	MaxPageSize int

	mu       sync.Mutex
	requests []Request
}

// Request is what the server saw of one request.
type Request struct {
	Method        string
	URL           string // path and query
	Authorization string
	UserAgent     string
	Status        int
}

// NewServer starts a fake Hub for w. Close it when done.
func NewServer(w *World) *Server {
	s := &Server{World: w}
	s.Server = httptest.NewServer(s)
	return s
}

// NewUnstartedServer returns a fake Hub that is not yet listening, so that
// its fields can be set first; call Start.
func NewUnstartedServer(w *World) *Server {
	s := &Server{World: w}
	s.Server = httptest.NewUnstartedServer(s)
	return s
}

// Requests returns the requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestCount returns how many requests were served.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, URL: r.URL.RequestURI(), Authorization: r.Header.Get("Authorization"),
			UserAgent: r.Header.Get("User-Agent"), Status: rec.status,
		})
		s.mu.Unlock()
	}()
	s.serve(rec, r)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusMethodNotAllowed, "", "method not allowed")
		return
	}
	switch {
	case r.URL.Path == "/api/models" || r.URL.Path == "/api/models/":
		s.serveList(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/models/"):
		s.serveModel(w, r, strings.TrimPrefix(r.URL.Path, "/api/models/"))
	default:
		httpError(w, http.StatusNotFound, "", "Not Found")
	}
}

func httpError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// listFields are the properties the list endpoint accepts in expand[].
var listFields = map[string]bool{
	"author": true, "cardData": true, "config": true, "createdAt": true, "disabled": true,
	"downloads": true, "downloadsAllTime": true, "gated": true, "lastModified": true,
	"library_name": true, "likes": true, "pipeline_tag": true, "private": true, "sha": true,
	"siblings": true, "tags": true, "trendingScore": true,
}

// modelOnlyFields are accepted in expand[] by the single-model endpoint only.
var modelOnlyFields = map[string]bool{"baseModels": true, "childrenModelCount": true, "usedStorage": true}

func expandOf(q url.Values) []string {
	return append(q["expand[]"], q["expand"]...)
}

func (s *Server) serveModel(w http.ResponseWriter, r *http.Request, id string) {
	m, renamed, ok := s.World.lookup(id)
	if renamed != "" {
		loc := "/api/models/" + renamed
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
		fmt.Fprintf(w, "Temporary Redirect. Redirecting to %s", loc)
		return
	}
	if !ok || m.Private {
		httpError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return
	}
	expand := expandOf(r.URL.Query())
	for _, f := range expand {
		if !listFields[f] && !modelOnlyFields[f] {
			httpError(w, http.StatusBadRequest, "", fmt.Sprintf("invalid expand field %q", f))
			return
		}
	}
	writeJSON(w, s.render(m, expand, true))
}

type cursor struct {
	Offset int `json:"o"`
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	expand := expandOf(q)
	for _, f := range expand {
		if !listFields[f] {
			httpError(w, http.StatusBadRequest, "", fmt.Sprintf("invalid expand field %q for a model listing", f))
			return
		}
	}
	limit := 1000
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			httpError(w, http.StatusBadRequest, "", "invalid limit")
			return
		}
		limit = n
	}
	max := s.MaxPageSize
	if max <= 0 {
		max = 1000
	}
	limit = min(limit, max)
	offset := 0
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		var cur cursor
		if err != nil || json.Unmarshal(raw, &cur) != nil || cur.Offset < 0 {
			httpError(w, http.StatusBadRequest, "", "invalid cursor")
			return
		}
		offset = cur.Offset
	}
	all := s.World.list(q["filter"])
	if search := q.Get("search"); search != "" {
		all = filterModels(all, func(m Model) bool { return strings.Contains(strings.ToLower(m.ID), strings.ToLower(search)) })
	}
	if author := q.Get("author"); author != "" {
		all = filterModels(all, func(m Model) bool { return strings.EqualFold(m.Author, author) })
	}
	end := min(offset+limit, len(all))
	page := []Model{}
	if offset < len(all) {
		page = all[offset:end]
	}
	if end < len(all) {
		next := *r.URL
		nq := next.Query()
		raw, _ := json.Marshal(cursor{Offset: end})
		nq.Set("cursor", base64.RawURLEncoding.EncodeToString(raw))
		next.RawQuery = nq.Encode()
		next.Scheme, next.Host = "http", r.Host
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.String()))
	}
	out := make([]map[string]any, len(page))
	for i, m := range page {
		out[i] = s.render(m, expand, false)
	}
	writeJSON(w, out)
}

func filterModels(ms []Model, keep func(Model) bool) []Model {
	var out []Model
	for _, m := range ms {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

const hubTime = "2006-01-02T15:04:05.000Z"

// render shapes a model as the Hub does: with expand, only _id, id and the
// named fields; without, the default set.
func (s *Server) render(m Model, expand []string, single bool) map[string]any {
	all := map[string]any{
		"author":       m.Author,
		"createdAt":    m.CreatedAt.UTC().Format(hubTime),
		"downloads":    m.Downloads,
		"gated":        m.Gated,
		"lastModified": m.LastModified.UTC().Format(hubTime),
		"library_name": m.LibraryName,
		"likes":        m.Likes,
		"pipeline_tag": m.PipelineTag,
		"private":      m.Private,
		"tags":         m.Tags,
		"disabled":     false,
		"sha":          fmt.Sprintf("%040x", len(m.ID)),
	}
	if single {
		all["childrenModelCount"] = s.childrenCount(m.ID)
	}
	out := map[string]any{"_id": fmt.Sprintf("%024x", hash(m.ID)), "id": m.ID}
	if len(expand) == 0 {
		out["modelId"] = m.ID
		for _, k := range []string{"likes", "downloads", "tags", "pipeline_tag", "library_name", "createdAt", "private"} {
			out[k] = all[k]
		}
		if single {
			for _, k := range []string{"author", "sha", "lastModified", "gated", "disabled"} {
				out[k] = all[k]
			}
		}
		return out
	}
	for _, f := range expand {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return out
}

// childrenCount counts a model's direct children per relation, as the
// single-model endpoint's childrenModelCount does.
func (s *Server) childrenCount(id string) map[string]int {
	counts := map[string]int{}
	for _, rel := range []string{"adapter", "merge", "quantized", "finetune"} {
		counts[rel] = len(s.World.list([]string{"base_model:" + rel + ":" + id}))
	}
	return counts
}

func hash(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	json.NewEncoder(w).Encode(v)
}
