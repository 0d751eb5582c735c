package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestCrawlViaServerUnreadableAnswer: a 202 whose body is not the queued
// crawl's id ends the CLI's crawl with an error at once; it used to
// follow crawl 0, which no server runs, until interrupted.
func TestCrawlViaServerUnreadableAnswer(t *testing.T) {
	for _, body := range []string{`<html>proxy</html>`, `{"queued":"one"}`, `{}`} {
		t.Run(body, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == "POST" {
					w.WriteHeader(http.StatusAccepted)
					io.WriteString(w, body)
					return
				}
				io.WriteString(w, `{"running":null,"queued":[],"finished":[]}`)
			}))
			defer ts.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := &remote{base: ts.URL, client: ts.Client()}
			f := &crawlFlags{parallel: 4, mode: "auto", depth: -1}
			_, err := crawlViaServer(ctx, r, f, nil, io.Discard)
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "cannot be read") {
				t.Errorf("err = %v (context: %v), want the unreadable answer said at once", err, ctx.Err())
			}
		})
	}
}
