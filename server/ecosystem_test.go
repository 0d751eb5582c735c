package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// newWorldServer scans a generated Hub of n models (several organisations
// with families) into an in-memory store and serves it.
func newWorldServer(t *testing.T, n int, seed uint64) (*query.Engine, *httptest.Server) {
	t.Helper()
	hub := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: n, Seed: seed}))
	t.Cleanup(hub.Close)
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := query.New(st).Crawl(t.Context(), query.Hub{Endpoint: hub.URL, MinWait: time.Millisecond, MaxWait: time.Second},
		query.CrawlRequest{All: true, Full: true}, query.CrawlWatch{}); err != nil {
		t.Fatal(err)
	}
	// Opened after the crawl: its views (the organisations) are of the
	// whole world from the start.
	_, ts, e := serveStore(t, st, Config{})
	return e, ts
}

// jsonOf is v as the API writes it.
func jsonOf(t *testing.T, v any, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func TestEcosystemAPI(t *testing.T) {
	e, ts := newWorldServer(t, 1500, 5)
	ctx := t.Context()
	const one, two = "base-org-0/*", "base-org-1/*,base-org-2/Base-Model-2"
	orgs, err := e.Organisations(ctx, 20)
	if len(orgs) < 3 {
		t.Fatalf("%d organisations with derivatives in the generated world (%v), want 3 or more", len(orgs), err)
	}
	for _, tc := range []struct {
		name, path string
		want       func() (any, error)
	}{
		{"count of an organisation", "/api/v1/count?model=" + url.QueryEscape(one),
			func() (any, error) { return e.CountEcosystem(ctx, one) }},
		{"count of a list", "/api/v1/count?model=" + url.QueryEscape(two),
			func() (any, error) { return e.CountEcosystem(ctx, two) }},
		{"count of a glob", "/api/v1/count?model=user1*/*",
			func() (any, error) { return e.CountEcosystem(ctx, "user1*/*") }},
		{"count of one model, as before", "/api/v1/count?model=base-org-0/Base-Model-0",
			func() (any, error) { return e.Count(ctx, "base-org-0/Base-Model-0") }},
		{"history of an ecosystem", "/api/v1/history?model=" + url.QueryEscape(one),
			func() (any, error) { return e.HistoryOfEcosystem(ctx, one) }},
		{"history of one model, as before", "/api/v1/history?model=base-org-0/Base-Model-0",
			func() (any, error) { return e.History(ctx, "base-org-0/Base-Model-0") }},
		{"compare", "/api/v1/compare?ecosystem=" + url.QueryEscape(one) + "&ecosystem=" + url.QueryEscape(two),
			func() (any, error) { return e.Compare(ctx, query.CompareOptions{Ecosystems: []string{one, two}}) }},
		{"compare of three, top and examples", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=base-org-1/*&ecosystem=base-org-0/Base-Model-0&top=2&examples=50",
			func() (any, error) {
				return e.Compare(ctx, query.CompareOptions{Ecosystems: []string{"base-org-0/*", "base-org-1/*", "base-org-0/Base-Model-0"}, Top: 2, Examples: 50})
			}},
		{"organisations", "/api/v1/organisations",
			func() (any, error) { return map[string]any{"organisations": orgs}, nil }},
		{"organisations, top 2", "/api/v1/organisations?top=2",
			func() (any, error) { return map[string]any{"organisations": orgs[:2]}, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.want()
			want := jsonOf(t, v, err)
			status, body, hdr := get(t, ts.URL+tc.path)
			if status != 200 || body != want {
				t.Errorf("%s: %d %s\nwant 200 %s", tc.path, status, body, want)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestEcosystemAPIBadInput(t *testing.T) {
	_, ts := newWorldServer(t, 300, 2)
	nine := strings.Repeat("&ecosystem=base-org-0/*", 9)[1:]
	for _, tc := range []struct {
		name, path string
		status     int
		has        string
	}{
		{"count of a pattern matching nothing", "/api/v1/count?model=nobody/*", 404, "no model in the database matches nobody/*"},
		{"count of every model", "/api/v1/count?model=*", 400, "crawl --all"},
		{"count of every model of every organisation", "/api/v1/count?model=*/*", 400, "stats"},
		{"count of an invalid pattern", "/api/v1/count?model=a%20b/*", 400, ""},
		{"count of a list with an unknown model", "/api/v1/count?model=base-org-0/*,no/such", 404, "no/such"},
		{"count of a list ending with a comma", "/api/v1/count?model=base-org-0/*,", 400, ""},
		{"history of a pattern matching nothing", "/api/v1/history?model=nobody/*", 404, "nobody/*"},
		{"compare without ecosystems", "/api/v1/compare", 400, "ecosystem must be given 2 to 8 times"},
		{"compare of one", "/api/v1/compare?ecosystem=base-org-0/*", 400, "ecosystem must be given 2 to 8 times"},
		{"compare of nine", "/api/v1/compare?" + nine, 400, "not 9"},
		{"compare with an empty ecosystem", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=", 400, "ecosystem must not be empty"},
		{"compare with a bad top", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=base-org-1/*&top=x", 400, "top must be an integer"},
		{"compare with top 0", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=base-org-1/*&top=0", 400, "top must be from 1 to 50"},
		{"compare with too many examples", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=base-org-1/*&examples=51", 400, "examples must be from 1 to 50"},
		{"compare with a pattern matching nothing", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=nobody/*", 404, "nobody/*"},
		{"compare with an unknown model", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=no/such", 404, "no/such"},
		{"compare with every model", "/api/v1/compare?ecosystem=base-org-0/*&ecosystem=*", 400, ""},
		{"organisations, top 0", "/api/v1/organisations?top=0", 400, "top must be from 1 to 200"},
		{"organisations, top 201", "/api/v1/organisations?top=201", 400, "top must be from 1 to 200"},
		{"organisations, a bad top", "/api/v1/organisations?top=many", 400, "top must be an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+tc.path)
			var e struct{ Error string }
			if status != tc.status || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" ||
				strings.Count(body, "\n") != 1 || !strings.HasSuffix(body, "\n") || !strings.Contains(e.Error, tc.has) {
				t.Errorf("%s: %d %q; want %d and a one-line error with %q", tc.path, status, body, tc.status, tc.has)
			}
		})
	}
	// The new routes answer GET only.
	for _, path := range []string{"/api/v1/compare", "/api/v1/organisations"} {
		resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
			t.Errorf("POST %s: %d, Allow %q; want 405, GET", path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}
