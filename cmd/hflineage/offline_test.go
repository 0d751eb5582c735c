package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/server"
)

// TestOffline: with $HF_HUB_OFFLINE set, what would contact the Hub
// (crawl, schedule, serve with a schedule) refuses at once with one line
// and exit 1, sending the Hub nothing; what reads the database works as
// usual. Values the Hub's client takes as false leave crawls alone.
func TestOffline(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B")
	before := len(srv.Requests())

	const line = "hflineage: HF_HUB_OFFLINE is set: not contacting the Hub (unset it to crawl; the database answers reads as usual)\n"
	for _, v := range []string{"1", "true", "YES", "on"} {
		t.Setenv("HF_HUB_OFFLINE", v)
		for _, args := range [][]string{
			{"crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"},
			{"crawl", "--db", db, "--endpoint", srv.URL, "--json", "--all"},
			{"schedule", "--db", db, "--endpoint", srv.URL, "--every", "1h", "meta-llama/Llama-3.1-8B"},
			{"serve", "--db", db, "--endpoint", srv.URL, "--addr", "127.0.0.1:0", "--every", "1h", "meta-llama/Llama-3.1-8B"},
		} {
			t.Run(v+" "+strings.Join(args, " "), func(t *testing.T) {
				code, stdout, stderr := cli(t, args...)
				if code != exitFailure || stdout != "" || stderr != line {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, line)
				}
			})
		}
		for _, args := range [][]string{
			{"count", "--db", db, "meta-llama/Llama-3.1-8B"},
			{"ancestors", "--db", db, "c/gguf"},
			{"export", "--db", db, "--format", "csv"},
			{"stats", "--db", db},
			{"history", "--db", db, "meta-llama/Llama-3.1-8B"},
		} {
			t.Run(v+" "+strings.Join(args, " "), func(t *testing.T) {
				if code, stdout, stderr := cli(t, args...); code != 0 || stdout == "" {
					t.Errorf("exit %d, stderr %q", code, stderr)
				}
			})
		}
	}
	t.Run("usage errors still come first", func(t *testing.T) {
		t.Setenv("HF_HUB_OFFLINE", "1")
		if code, _, _ := cli(t, "crawl", "--db", db); code != exitUsage {
			t.Errorf("crawl without MODEL: exit %d, want 2", code)
		}
	})
	if n := len(srv.Requests()); n != before {
		t.Errorf("%d requests reached the Hub while offline", n-before)
	}
	for _, v := range []string{"", "0", "false", "no"} {
		t.Run("HF_HUB_OFFLINE="+v, func(t *testing.T) {
			t.Setenv("HF_HUB_OFFLINE", v)
			if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "a/ft"); code != 0 {
				t.Errorf("exit %d: %s", code, stderr)
			}
		})
	}
}

// TestOfflineServer: a server started with $HF_HUB_OFFLINE set answers
// reads, refuses POST /api/v1/crawl with 409 and the one line, and its
// engine refuses a crawl with query.ErrOffline.
func TestOfflineServer(t *testing.T) {
	hub := hubtest.NewServer(testWorld())
	defer hub.Close()
	db := filepath.Join(t.TempDir(), "db")
	crawlSetup(t, "--db", db, "--endpoint", hub.URL, "meta-llama/Llama-3.1-8B")
	t.Setenv("HF_HUB_OFFLINE", "1")

	ctx := context.Background()
	e, err := query.OpenDB(ctx, db, query.OpenOptions{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Crawl(ctx, query.Hub{Endpoint: hub.URL}, query.CrawlRequest{Seeds: []string{"a/ft"}}, query.CrawlWatch{}); !errors.Is(err, query.ErrOffline) {
		t.Errorf("Engine.Crawl: %v, want ErrOffline", err)
	}
	s, err := server.New(ctx, server.Config{Engine: e, Hub: query.Hub{Endpoint: hub.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	api := httptest.NewServer(s.Handler())
	defer api.Close()

	resp, err := http.Get(api.URL + "/api/v1/count?model=meta-llama/Llama-3.1-8B")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET count: %s", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, api.URL+"/api/v1/crawl", bytes.NewReader([]byte(`{"seeds":["a/ft"]}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.SessionToken())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusConflict || !strings.HasPrefix(body.Error, "HF_HUB_OFFLINE is set: ") {
		t.Errorf("POST crawl: %s %q, want 409 and the HF_HUB_OFFLINE line", resp.Status, body.Error)
	}
}
