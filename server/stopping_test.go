package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/query"
)

// TestStoppingAnswers503: a request whose work Close cuts short is
// answered 503 "stopping" with Retry-After, not an empty 200 (a reader of
// a crawl's server printed "EOF" at the end of every crawl).
func TestStoppingAnswers503(t *testing.T) {
	s, _, _ := newTestServer(t, Config{ReadOnly: true})
	started := make(chan struct{})
	h := s.limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // the work, until Close ends it
		s.fail(w, r, r.Context().Err())
	}))
	rec := httptest.NewRecorder()
	go func() {
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	}()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/stats", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "stopping") {
		t.Errorf("answer %d %q (Retry-After %q); want 503 saying the server stops", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
	}
}

// TestChangedWhileLoadedIs503: a whole-graph read that a crawl's commits
// overtook (query.ErrChanged) is a 503 to ask again, not a 500.
func TestChangedWhileLoadedIs503(t *testing.T) {
	s, _, _ := newTestServer(t, Config{})
	rec := httptest.NewRecorder()
	s.fail(rec, httptest.NewRequest("GET", "/api/v1/stats", nil), query.ErrChanged)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "changed while its graph was loaded") {
		t.Errorf("answer %d %q; want 503 saying a crawl writes", rec.Code, rec.Body.String())
	}
}
