package server

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// hostileID is a model id written to tear a feed that does not escape it.
const hostileID = `evil/<b>&amp;"x'</b>]]><entry>`

const feedRoot = "base-org-0/Base-Model-0"

// newChangesServer serves a generated Hub crawled twice with a day of
// churn between (runs 1 and 2), then a run that adds hostileID under
// feedRoot (run 3, finished at a fixed time), and returns the store to
// write more runs to behind the server's back.
func newChangesServer(t *testing.T) (*query.Engine, *store.Store, *httptest.Server) {
	t.Helper()
	w := hubtest.Generate(hubtest.GenOptions{Models: 800, Seed: 3})
	hub := hubtest.NewServer(w)
	t.Cleanup(hub.Close)
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	scan := func() {
		if _, err := query.New(st).Crawl(t.Context(), query.Hub{Endpoint: hub.URL, MinWait: time.Millisecond, MaxWait: time.Second},
			query.CrawlRequest{All: true, Full: true}, query.CrawlWatch{}); err != nil {
			t.Fatal(err)
		}
	}
	scan()
	w.Churn(100, 40, hubtest.GeneratedUntil.Add(24*time.Hour))
	scan()
	addRun(t, st, graph.Model{ID: hostileID}, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	_, ts, e := serveStore(t, st, Config{})
	return e, st, ts
}

// addRun records a complete run that stores m as a finetune of feedRoot.
func addRun(t *testing.T, st *store.Store, m graph.Model, finished time.Time) {
	t.Helper()
	run, err := st.NewRun("walk", false, []string{feedRoot})
	if err != nil {
		t.Fatal(err)
	}
	err = st.UpdateRun(run, func(tx *store.Tx) error {
		if err := tx.PutModel(m, []graph.Parent{{ID: feedRoot, Relation: graph.Finetune}}); err != nil {
			return err
		}
		tx.Run().Complete, tx.Run().Finished = true, finished
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestChangesAPIEqualsEngine(t *testing.T) {
	e, _, ts := newChangesServer(t)
	ctx := t.Context()
	for _, o := range []query.ChangesOptions{
		{Model: feedRoot},
		{Model: feedRoot, Since: "1", Runs: 1, IDs: 3},
		{Model: "base-org-*/*", Since: "2000-01-01"},
		{Model: "base-org-1/*,base-org-2/Base-Model-2", IDs: 1},
	} {
		p := url.Values{"model": {o.Model}}
		if o.Since != "" {
			p.Set("since", o.Since)
		}
		if o.Runs != 0 {
			p.Set("runs", fmtInt(o.Runs))
		}
		if o.IDs != 0 {
			p.Set("ids", fmtInt(o.IDs))
		}
		code, body, h := get(t, ts.URL+"/api/v1/changes?"+p.Encode())
		want, err := e.Changes(ctx, o)
		if code != 200 || body != jsonOf(t, want, err) || h.Get("Content-Type") != "application/json" {
			t.Errorf("%v: %d %s\nwant %s", p, code, body, jsonOf(t, want, err))
		}
	}
}

// GET /api/v1/diff of a pattern is the engine's DiffEcosystem; of one
// model, Diff as before.
func TestDiffOfAnEcosystemAPI(t *testing.T) {
	e, _, ts := newChangesServer(t)
	ctx := t.Context()
	for _, o := range []query.DiffOptions{{Model: "base-org-*/*", Run: 2}, {Model: "base-org-1/*,base-org-2/Base-Model-2"}, {Model: feedRoot, Run: 2}} {
		u := ts.URL + "/api/v1/diff?model=" + url.QueryEscape(o.Model)
		if o.Run != 0 { // run=0 is refused, as diff --run 0: without run, the last
			u += "&run=" + fmtInt(int(o.Run))
		}
		code, body, _ := get(t, u)
		var want any
		var err error
		if query.IsEcosystem(o.Model) {
			want, err = e.DiffEcosystem(ctx, o)
		} else {
			want, err = e.Diff(ctx, o)
		}
		if code != 200 || body != jsonOf(t, want, err) {
			t.Errorf("%+v: %d %s\nwant %s", o, code, body, jsonOf(t, want, err))
		}
	}
	if code, body, _ := get(t, ts.URL+"/api/v1/diff?model=nobody/*"); code != 404 {
		t.Errorf("nobody/*: %d %s", code, body)
	}
	// A pattern's feed links each entry to that diff.
	code, body, _ := get(t, ts.URL+"/feeds/changes.atom?model="+url.QueryEscape("base-org-*/*"))
	var f parsedFeed
	if err := xml.Unmarshal([]byte(body), &f); err != nil || code != 200 || len(f.Entries) == 0 {
		t.Fatalf("%d %v: %s", code, err, body)
	}
	u, _ := url.Parse(f.Entries[0].Link.Href)
	if code, body, _ := get(t, ts.URL+u.RequestURI()); code != 200 || !strings.Contains(body, `"model":"base-org-*/*"`) {
		t.Errorf("%s: %d %s", u, code, body)
	}
}

func fmtInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// parsedFeed is what a reader reads of the feed.
type parsedFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  string   `xml:"author>name"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Summary string `xml:"summary"`
	} `xml:"entry"`
}

func TestChangesFeed(t *testing.T) {
	e, st, ts := newChangesServer(t)
	path := "/feeds/changes.atom?model=" + url.QueryEscape(feedRoot)
	code, body, h := get(t, ts.URL+path)
	if code != 200 || h.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Fatalf("%d %s: %s", code, h.Get("Content-Type"), body)
	}
	var f parsedFeed
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("the feed is not XML: %v\n%s", err, body)
	}
	if strings.Contains(body, "<b>") || strings.Contains(body, "]]><entry>") {
		t.Errorf("the hostile id is not escaped:\n%s", body)
	}
	want, err := e.Changes(t.Context(), query.ChangesOptions{Model: feedRoot})
	if err != nil {
		t.Fatal(err)
	}
	var changed []query.ChangeRun
	for _, r := range want.Runs {
		if r.Changed() {
			changed = append(changed, r)
		}
	}
	if len(changed) != 3 || len(f.Entries) != len(changed) {
		t.Fatalf("%d entries for %d runs that changed the family:\n%s", len(f.Entries), len(changed), body)
	}
	latest := ""
	for _, r := range changed {
		latest = max(latest, r.When())
	}
	if f.ID == "" || f.Author == "" || f.Updated != latest || !strings.Contains(f.Title, feedRoot) {
		t.Errorf("feed id %q author %q updated %q title %q", f.ID, f.Author, f.Updated, f.Title)
	}
	if len(f.Links) != 1 || f.Links[0].Rel != "self" || f.Links[0].Href != ts.URL+path {
		t.Errorf("links %+v; want self %s", f.Links, ts.URL+path)
	}
	for k, en := range f.Entries {
		r := changed[k]
		if en.ID != f.ID+"/run/"+fmtInt(int(r.Run)) || en.Updated != r.When() {
			t.Errorf("entry %d: id %q updated %q; want run %d at %s", k, en.ID, en.Updated, r.Run, r.When())
		}
		if _, err := time.Parse(time.RFC3339, en.Updated); err != nil {
			t.Errorf("entry %d: updated %q: %v", k, en.Updated, err)
		}
		for _, m := range r.Added {
			if !strings.Contains(en.Summary, "+ "+string(m.Model)+" (") {
				t.Errorf("entry %d does not list %s added:\n%s", k, m.Model, en.Summary)
			}
		}
		for _, m := range r.Removed {
			if !strings.Contains(en.Summary, "- "+string(m.Model)+" (") {
				t.Errorf("entry %d does not list %s removed:\n%s", k, m.Model, en.Summary)
			}
		}
		// The entry's link is the run's diff of the family.
		u, _ := url.Parse(en.Link.Href)
		code, body, _ := get(t, ts.URL+u.RequestURI())
		var one query.Diff
		if code != 200 || json.Unmarshal([]byte(body), &one) != nil || one.Run != r.Run || string(one.Model) != feedRoot {
			t.Errorf("entry %d's link %s: %d %s", k, en.Link.Href, code, body)
		}
	}
	// The newest entry is the run that added the hostile id; a reader
	// reads the id as it is.
	if f.Entries[0].Updated != "2026-12-01T12:00:00Z" || !strings.Contains(f.Entries[0].Summary, "+ "+hostileID+" (finetune, new)") {
		t.Errorf("newest entry %+v", f.Entries[0])
	}
	if lm, err := http.ParseTime(h.Get("Last-Modified")); err != nil || lm.UTC().Format(time.RFC3339) != latest {
		t.Errorf("Last-Modified %q", h.Get("Last-Modified"))
	}

	// Polled again: the same feed, then 304 with its ETag while the data
	// stays, 200 again once a run changed it.
	if _, again, _ := get(t, ts.URL+path); again != body {
		t.Errorf("the feed changed without a crawl:\n%s\n%s", body, again)
	}
	etag := h.Get("ETag")
	poll := func(inm string) (int, string, http.Header) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("If-None-Match", inm)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, b, h := poll(etag); etag == "" || code != http.StatusNotModified || b != "" || h.Get("ETag") != etag {
		t.Errorf("If-None-Match %s: %d %q etag %q", etag, code, b, h.Get("ETag"))
	}
	if code, _, _ := poll(`"something-else"`); code != 200 {
		t.Errorf("another ETag: %d", code)
	}
	// Nothing since the last run: a feed without entries, updated when
	// that run finished.
	_, body, _ = get(t, ts.URL+path+"&since=3")
	var none parsedFeed
	if err := xml.Unmarshal([]byte(body), &none); err != nil || len(none.Entries) != 0 || none.Updated != "2026-12-01T12:00:00Z" || none.ID != f.ID {
		t.Errorf("since the last run: %v\n%s", err, body)
	}
	addRun(t, st, graph.Model{ID: "later/derivative"}, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	code, body, h = poll(etag)
	f = parsedFeed{}
	if err := xml.Unmarshal([]byte(body), &f); err != nil || code != 200 || h.Get("ETag") == etag {
		t.Fatalf("after a run: %d etag %q, %v", code, h.Get("ETag"), err)
	}
	if len(f.Entries) != 4 || !strings.Contains(f.Entries[0].Summary, "+ later/derivative (finetune, new)") || f.Entries[0].Updated != "2026-12-02T00:00:00Z" {
		t.Errorf("after a run, %d entries, updated %s, newest %+v", len(f.Entries), f.Updated, f.Entries[0])
	}
}

func TestChangesBadInput(t *testing.T) {
	_, _, ts := newChangesServer(t)
	for _, p := range []string{"/api/v1/changes", "/feeds/changes.atom"} {
		for _, tc := range []struct {
			query  string
			status int
			has    string
		}{
			{"", 400, "model is required"},
			{"model=" + url.QueryEscape(feedRoot) + "&since=yesterday", 400, "since"},
			{"model=" + url.QueryEscape(feedRoot) + "&since=-3", 400, "since"},
			{"model=" + url.QueryEscape(feedRoot) + "&since=2026-02-30", 400, "since"},
			{"model=" + url.QueryEscape(feedRoot) + "&runs=0", 400, "runs must be from 1 to 200"},
			{"model=" + url.QueryEscape(feedRoot) + "&runs=201", 400, "runs must be from 1 to 200"},
			{"model=" + url.QueryEscape(feedRoot) + "&runs=x", 400, "runs must be an integer"},
			{"model=" + url.QueryEscape(feedRoot) + "&ids=1001", 400, "ids must be from 1 to 1000"},
			{"model=a%20b", 400, ""},
			{"model=no/such-model", 404, "not in the database"},
			{"model=nobody/*", 404, "no model in the database matches"},
		} {
			code, body, h := get(t, ts.URL+p+"?"+tc.query)
			var e struct{ Error string }
			if code != tc.status || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tc.has) ||
				strings.Count(body, "\n") != 1 || h.Get("Content-Type") != "application/json" {
				t.Errorf("%s?%s: %d %q; want %d with %q", p, tc.query, code, body, tc.status, tc.has)
			}
		}
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/changes?model=x/y", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
