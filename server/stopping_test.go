package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
