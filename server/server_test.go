package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

const root = "meta-llama/Llama-3.1-8B"

func testWorld() *hubtest.World {
	w := hubtest.NewWorld()
	pt := func(id, rel string) hubtest.Parent { return hubtest.Parent{ID: id, Relation: rel} }
	add := func(id string, dl int64, parents ...hubtest.Parent) {
		w.Add(hubtest.Model{ID: id, Downloads: dl, Tags: append([]string{"license:llama3.1"}, hubtest.ParentTags(parents...)...)})
	}
	add(root, 1000)
	add("a/ft", 50, pt(root, "finetune"))
	add("b/lora", 40, pt(root, "adapter"))
	add("c/gguf", 30, pt("a/ft", "quantized"))
	add("d/merge", 20, pt("a/ft", "merge"), pt("x/outside", "merge"))
	add("e/loop", 10, pt("c/gguf", "finetune"), pt("e/loop", "finetune"))
	for i := range 30 {
		add(fmt.Sprintf("many/ft-%02d", i), int64(i), pt("b/lora", "finetune"))
	}
	return w
}

// testStores holds each test server's store, for tests that write to it
// behind the server's back.
var testStores sync.Map // *Server → *store.Store

// newTestServer crawls the test world into an in-memory store and serves it.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server, *hubtest.Server) {
	t.Helper()
	hub := hubtest.NewServer(testWorld())
	t.Cleanup(hub.Close)
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := crawler.NewWalker(crawler.Config{Endpoint: hub.URL, MinWait: time.Millisecond}, crawlsink.New(st))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Walk(context.Background(), []graph.ModelID{root}, crawler.Options{Depth: -1}); err != nil {
		t.Fatal(err)
	}
	cfg.Hub = crawler.Config{Endpoint: hub.URL, MinWait: time.Millisecond}
	s, ts, _ := serveStore(t, st, cfg)
	testStores.Store(s, st)
	return s, ts, hub
}

// serveStore serves st: the live Engine of a long-lived process opened on
// it (query.Open) and a Server of cfg over it (its Logger discarding,
// unless set) behind an httptest server, all closed when the test ends.
func serveStore(t *testing.T, st *store.Store, cfg Config) (*Server, *httptest.Server, *query.Engine) {
	t.Helper()
	e, err := query.Open(t.Context(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	cfg.Engine = e
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	registerTestServer(t, s, ts.URL)
	t.Cleanup(func() {
		ts.Close()
		s.Close(context.Background())
	})
	return s, ts, e
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestAPI(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{})
	want, err := s.q.Count(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	wantCount, _ := json.Marshal(want)
	for _, tc := range []struct {
		name, path string
		status     int
		has        []string
	}{
		{"count, the CLI's JSON", "/api/v1/count?model=" + root, 200, []string{string(wantCount)}},
		{"count in any case", "/api/v1/count?model=META-LLAMA/llama-3.1-8b", 200, []string{`"descendants":{"adapter":1,"finetune":32`}},
		{"count without model", "/api/v1/count", 400, []string{`"error":"model is required`}},
		{"count of an invalid id", "/api/v1/count?model=a--b/c", 400, []string{`"error":"invalid model id`}},
		{"count of an unknown model", "/api/v1/count?model=no/such", 404, []string{`is not in the database`}},
		{"ancestors", "/api/v1/ancestors?model=d/merge", 200, []string{`"roots":["meta-llama/Llama-3.1-8B","x/outside"]`, `"complete":true`}},
		{"stats", "/api/v1/stats", 200, []string{`"models":36`, `"largest_families"`}},
		{"stats of a family", "/api/v1/stats?root=a/ft", 200, []string{`"root":"a/ft"`}},
		{"stats with a bad top", "/api/v1/stats?top=x", 400, []string{"top must be an integer"}},
		{"history", "/api/v1/history?model=" + root, 200, []string{`"runs":[{"run":1`}},
		{"runs", "/api/v1/runs", 200, []string{`"runs":[{"run":1,"mode":"walk"`}},
		{"history without model lists runs", "/api/v1/history", 200, []string{`"runs":[{"run":1`}},
		{"diff", "/api/v1/diff", 200, []string{`"run":1`, `"all_new":true`}},
		{"diff of an unknown run", "/api/v1/diff?run=42", 404, []string{`"error"`}},
		{"children, first page", "/api/v1/children?model=b/lora&limit=5", 200, []string{`"total":30`, `"id":"many/ft-29"`, `"next_cursor":"`}},
		{"children by relation", "/api/v1/children?model=" + root + "&relation=adapter", 200, []string{`"total":1`, `"id":"b/lora","relation":"adapter"`}},
		{"children, bad sort", "/api/v1/children?model=b/lora&sort=size", 400, []string{"sort must be"}},
		{"children, bad relation", "/api/v1/children?model=b/lora&relation=fork", 400, []string{"relation must be"}},
		{"children, bad cursor", "/api/v1/children?model=b/lora&cursor=!!", 400, []string{"invalid cursor"}},
		{"search by prefix", "/api/v1/search?q=META", 200, []string{`"id":"meta-llama/Llama-3.1-8B"`}},
		{"search by substring, most downloaded first", "/api/v1/search?q=ft-2&limit=2", 200, []string{`{"results":[{"id":"many/ft-29","downloads":29},{"id":"many/ft-28","downloads":28}],"more":true}`}},
		{"search, bad limit", "/api/v1/search?q=a&limit=1000", 400, []string{"limit"}},
		{"graph, pruned", "/api/v1/graph?model=" + root + "&max-nodes=4", 200, []string{`"members":36`, `"truncated":true`, `"hidden_children"`}},
		{"graph, bad max-nodes", "/api/v1/graph?model=" + root + "&max-nodes=0x", 400, []string{"max-nodes"}},
		{"export dot", "/api/v1/export?format=dot&model=a/ft", 200, []string{`digraph`, `"a/ft" -> "c/gguf"`}},
		{"export csv of everything", "/api/v1/export?format=csv", 200, []string{"parent,relation,child"}},
		{"export, unknown format", "/api/v1/export?format=gif", 400, []string{`"error":"unknown format \"gif\" (want dot,`}},
		{"export, depth without a model", "/api/v1/export?format=dot&depth=1", 400, []string{`"error":"depth needs model"`}},
		{"crawl status", "/api/v1/crawl", 200, []string{`"running":null`, `"queue":[]`, `"last":{"run":1`}},
		{"unknown endpoint", "/api/v1/nothing", 404, []string{`"error":"no such API endpoint`}},
		{"export, negative depth", "/api/v1/export?format=dot&model=a/ft&depth=-7", 400, []string{`"error":"depth must be -1 (no limit) or ≥ 0, not -7"`}},
		{"health", "/healthz", 200, []string{`"status":"ok"`}},
		{"metrics", "/metrics", 200, []string{"hflineage_hub_requests_total", "hflineage_models"}},
		{"the page", "/", 200, []string{"<html", "app.js"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+tc.path)
			if status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, body)
			}
			for _, h := range tc.has {
				if !strings.Contains(body, h) {
					t.Errorf("answer lacks %s:\n%s", h, body)
				}
			}
		})
	}
	// Export headers.
	_, _, h := get(t, ts.URL+"/api/v1/export?format=graphml&model=a/ft")
	if ct, cd := h.Get("Content-Type"), h.Get("Content-Disposition"); !strings.HasPrefix(ct, "application/graphml+xml") || cd != `attachment; filename="a__ft.graphml"` {
		t.Errorf("export headers: %q, %q", ct, cd)
	}
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCrawlQueue(t *testing.T) {
	_, ts, hub := newTestServer(t, Config{AuthToken: "s3cret-s3cret-s3cret", QueueSize: 1})
	url := ts.URL + "/api/v1/crawl"
	for _, tc := range []struct {
		name, token, body string
		status            int
		has               string
	}{
		{"no token", "", `{"seeds":["a/ft"]}`, 401, "token"},
		{"wrong token", "guess", `{"seeds":["a/ft"]}`, 401, "token"},
		{"not JSON", "s3cret-s3cret-s3cret", `seeds=a/ft`, 400, "body must be one JSON crawl request"},
		{"unknown field", "s3cret-s3cret-s3cret", `{"sedes":["a/ft"]}`, 400, "unknown field"},
		{"nothing to crawl", "s3cret-s3cret-s3cret", `{}`, 400, "seeds must name"},
		{"seeds and all", "s3cret-s3cret-s3cret", `{"all":true,"seeds":["a/ft"]}`, 400, "name no seeds"},
		{"invalid seed", "s3cret-s3cret-s3cret", `{"seeds":["a--b/c"]}`, 400, "invalid model id"},
		{"bad mode", "s3cret-s3cret-s3cret", `{"seeds":["a/ft"],"mode":"fast"}`, 400, "mode must be"},
		{"too large", "s3cret-s3cret-s3cret", `{"seeds":["` + strings.Repeat("a", 70000) + `"]}`, 413, "larger than"},
		{"two values", "s3cret-s3cret-s3cret", `{"seeds":["a/ft"]} {"all":true}`, 400, "more than one JSON value"},
		{"full_every not an age", "s3cret-s3cret-s3cret", `{"all":true,"full_every":"weekly"}`, 400, `want a duration such as 7d or 36h`},
		{"full_every a number", "s3cret-s3cret-s3cret", `{"all":true,"full_every":7}`, 400, `want a string such as \"7d\"`},
		{"full_every negative", "s3cret-s3cret-s3cret", `{"all":true,"full_every":"-1d"}`, 400, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, url, tc.token, tc.body)
			if status != tc.status || !strings.Contains(body, tc.has) {
				t.Errorf("%d %s; want %d containing %q", status, body, tc.status, tc.has)
			}
		})
	}
	// A crawl runs (held at its first request to the Hub); a second waits;
	// a third finds the queue full.
	hub.World.Add(hubtest.Model{ID: "new/child", Tags: hubtest.ParentTags(hubtest.Parent{ID: "a/ft", Relation: "adapter"})})
	held, release := holdHub(hub, 0)
	defer release()
	codes := []int{}
	for depth := range 3 { // three crawls (the same crawl thrice would be merged into one)
		status, _ := post(t, url, "s3cret-s3cret-s3cret", fmt.Sprintf(`{"seeds":["%s"],"mode":"walk","depth":%d}`, root, 10+depth))
		codes = append(codes, status)
		if depth == 0 {
			<-held // the first crawl runs: the queue is empty again
		}
	}
	if !slices.Equal(codes, []int{202, 202, 409}) {
		t.Errorf("statuses %v: want 202 (runs), 202 (waits) and 409 once the queue is full", codes)
	}
	release()
	waitIdle(t, ts.URL)
	_, body, _ := get(t, ts.URL+"/api/v1/count?model=a/ft")
	if !strings.Contains(body, `"adapter":1`) {
		t.Errorf("the queued crawl did not store new/child: %s", body)
	}
	_, metrics, _ := get(t, ts.URL+"/metrics")
	if !strings.Contains(metrics, "hflineage_last_success_timestamp_seconds") || strings.Contains(metrics, "hflineage_hub_requests_total 0\n") {
		t.Errorf("crawl metrics missing:\n%s", metrics)
	}
}

// testServers finds the Server of a test's base URL, or of the test (a
// test may serve its handler under another URL), for waitIdle.
var testServers sync.Map // base URL or *testing.T → *Server

func registerTestServer(t *testing.T, s *Server, base string) {
	testServers.Store(base, s)
	testServers.Store(t, s)
	t.Cleanup(func() { testServers.Delete(base); testServers.Delete(t) })
}

// waitIdle waits until no crawl runs or waits, and the last crawl's end
// has been told (its metrics and webhooks are done). It wakes on each
// crawl's end (Server.crawlEnded), never on a timer; its deadline only
// fails a test that would hang.
func waitIdle(t *testing.T, base string) {
	t.Helper()
	v, ok := testServers.Load(base)
	if !ok {
		if v, ok = testServers.Load(t); !ok {
			t.Fatalf("waitIdle: no test server at %s", base)
		}
	}
	s := v.(*Server)
	ended := map[int]bool{}
	deadline := time.After(30 * time.Second)
	for {
		for drained := false; !drained; {
			select {
			case id := <-s.crawlEnded:
				ended[id] = true
			default:
				drained = true
			}
		}
		st := s.crawls.Status(t.Context(), "")
		if st.Running == nil && len(st.Queue) == 0 {
			// The queue shows a crawl finished before its end is told; one
			// canceled while it waited is never told.
			if len(st.Finished) == 0 || ended[st.Finished[0].ID] || st.Finished[0].Canceled && st.Finished[0].Run == 0 {
				return
			}
		}
		select {
		case id := <-s.crawlEnded:
			ended[id] = true
		case <-deadline:
			t.Fatalf("the crawl queue did not drain: %+v", st)
		}
	}
}

// TestAnswersDuringACrawl: while a crawl writes page after page, counts
// are answered at once, each from committed pages: a family never shrinks
// and its numbers always add up.
func TestAnswersDuringACrawl(t *testing.T) {
	s, ts, hub := newTestServer(t, Config{})
	// A second family, served slowly, to crawl while we ask.
	for i := range 30 {
		hub.World.Add(hubtest.Model{ID: fmt.Sprintf("big/m-%02d", i), Tags: hubtest.ParentTags(hubtest.Parent{ID: "a/ft", Relation: "finetune"})})
	}
	hub.MaxPageSize = 3
	// Every request to the Hub waits at a gate until the test has asked
	// its counts: they are asked while the crawl is held between pages.
	arrived := make(chan chan struct{})
	hub.Fault = func(_ int, r *http.Request) hubtest.Fault {
		pass := make(chan struct{})
		select {
		case arrived <- pass:
			select {
			case <-pass:
			case <-r.Context().Done():
			}
		case <-r.Context().Done():
		}
		return hubtest.NoFault
	}
	if _, err := s.Crawl(CrawlRequest{Seeds: []string{"a/ft"}, Mode: "walk"}, false); err != nil {
		t.Fatal(err)
	}
	var seen []int
	last := 0
	deadline := time.After(30 * time.Second) // fails a test that would hang; nothing polls
	for crawling := true; crawling; {
		select {
		case pass := <-arrived:
			// Four readers at once, while the crawl waits for this page.
			var wg sync.WaitGroup
			totals := make([]int, 4)
			for i := range totals {
				wg.Go(func() {
					status, body, _ := get(t, ts.URL+"/api/v1/count?model=a/ft")
					var c query.Count
					if status != 200 || json.Unmarshal([]byte(body), &c) != nil {
						t.Errorf("count during a crawl: %d %s", status, body)
						return
					}
					d := c.Descendants
					if d.Total > d.Adapter+d.Finetune+d.Merge+d.Quantized || c.Children.Total > d.Total {
						t.Errorf("inconsistent count during a crawl: %+v", c)
					}
					totals[i] = d.Total
				})
			}
			wg.Wait()
			before := last
			for _, n := range totals {
				if n < before {
					t.Errorf("the family shrank during a crawl: %d after %d", n, before)
				}
				last = max(last, n)
			}
			seen = append(seen, totals...)
			close(pass)
		case <-s.crawlEnded:
			crawling = false
		case <-deadline:
			t.Fatal("the crawl did not end")
		}
	}
	_, body, _ := get(t, ts.URL+"/api/v1/count?model=a/ft")
	if !strings.Contains(body, `"total":33`) {
		t.Errorf("after the crawl: %s", body)
	}
	distinct := map[int]bool{}
	for _, n := range seen {
		distinct[n] = true
	}
	if len(distinct) < 2 {
		t.Errorf("the counts never changed during the crawl (%v): the test did not overlap it", seen)
	}
}

// TestExport: GET /api/v1/export takes the CLI's export flags (model is
// --root), refuses what the CLI refuses with the CLI's message, and
// answers exactly what the query engine writes for the CLI.
func TestExport(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{})
	for _, tc := range []struct {
		name, params string
		sel          query.Selection // for a 200: the CLI's selection
		status       int
		err          string // for an error: the whole message
	}{
		{"dot of a family", "format=dot&model=a/ft", query.Selection{Format: "dot", Root: "a/ft", Depth: -1}, 200, ""},
		{"dot of a family with its legend", "format=dot&model=a/ft&legend=true",
			query.Selection{Format: "dot", Root: "a/ft", Depth: -1, Legend: true}, 200, ""},
		{"legend without a value", "format=dot&model=a/ft&legend",
			query.Selection{Format: "dot", Root: "a/ft", Depth: -1, Legend: true}, 200, ""},
		{"legend=false", "format=dot&legend=false", query.Selection{Format: "dot", Depth: -1}, 200, ""},
		{"dot of everything", "format=dot", query.Selection{Format: "dot", Depth: -1}, 200, ""},
		{"dot of everything with its legend", "format=dot&legend=1", query.Selection{Format: "dot", Depth: -1, Legend: true}, 200, ""},
		{"max-nodes without a model prunes everything", "format=dot&max-nodes=5",
			query.Selection{Format: "dot", Depth: -1, MaxNodes: 5}, 200, ""},
		{"max-nodes without a model, csv", "format=csv&max-nodes=3", query.Selection{Format: "csv", Depth: -1, MaxNodes: 3}, 200, ""},
		{"max-nodes without a model, clustered, with a legend", "format=dot&max-nodes=8&cluster=author&legend=true",
			query.Selection{Format: "dot", Depth: -1, MaxNodes: 8, Cluster: "author", Legend: true}, 200, ""},
		{"max-nodes of a family", "format=json&model=" + root + "&max-nodes=4",
			query.Selection{Format: "json", Root: root, Depth: -1, MaxNodes: 4}, 200, ""},
		{"legend with csv", "format=csv&legend=true", query.Selection{}, 400,
			"legend goes with dot (svg, png and pdf always have one)"},
		{"legend with svg", "format=svg&legend=true", query.Selection{}, 400,
			"legend goes with dot (svg, png and pdf always have one)"},
		{"legend neither true nor false", "format=dot&legend=maybe", query.Selection{}, 400, "legend must be true or false"},
		{"negative max-nodes", "format=dot&max-nodes=-1", query.Selection{}, 400, "max-nodes must be 0 (no limit) or more, not -1"},
		{"max-nodes not a number", "format=dot&max-nodes=ten", query.Selection{}, 400, "max-nodes must be an integer"},
		{"no format", "model=a/ft", query.Selection{}, 400, "format is required (" + strings.Join(query.ExportFormats, ", ") + ")"},
		{"cluster by relation without a model", "format=dot&cluster=relation", query.Selection{}, 400, "cluster relation needs model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+"/api/v1/export?"+tc.params)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != tc.err {
					t.Errorf("error %q, want %q (%v)", e.Error, tc.err, err)
				}
				if tc.sel.Format != "" {
					t.Fatal("a refused export with a selection: fix the table")
				}
				return
			}
			var want strings.Builder
			if _, err := s.q.Write(context.Background(), tc.sel, &want); err != nil {
				t.Fatal(err)
			}
			if body != want.String() {
				t.Errorf("the answer is not the CLI's export:\n%s\nwant:\n%s", body, want.String())
			}
			if tc.sel.MaxNodes > 0 && tc.sel.Root == "" {
				all := tc.sel
				all.MaxNodes = 0
				var whole strings.Builder
				if _, err := s.q.Write(context.Background(), all, &whole); err != nil {
					t.Fatal(err)
				}
				if len(body) >= whole.Len() {
					t.Errorf("max-nodes %d did not prune the whole database (%d bytes, %d for everything)", tc.sel.MaxNodes, len(body), whole.Len())
				}
			}
			if hasLegend := strings.Contains(body, "relation legend"); tc.sel.Format == "dot" && hasLegend != tc.sel.Legend {
				t.Errorf("legend drawn: %v, want %v:\n%s", hasLegend, tc.sel.Legend, body)
			}
		})
	}
}

// TestExportPlanAndLayout: GET /api/v1/export/plan says what the CLI's
// export warns of before an export (the last crawl of what it exports did
// not complete), with the export's checks; a picture's answer says how
// many nodes Graphviz laid out and with which engine.
func TestExportPlanAndLayout(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{})
	plans := []struct {
		name, params string
		status       int
		has          string
	}{
		{"a family", "format=dot&model=a/ft", 200, `{"incomplete":null}`},
		{"the whole database", "format=csv&max-nodes=3", 200, `{"incomplete":null}`},
		{"checked as an export", "format=csv&legend=true", 400, `"error":"legend goes with dot`},
		{"an unknown model", "format=dot&model=no/such", 404, `is not in the database`},
	}
	check := func(when string) {
		for _, tc := range plans {
			t.Run(when+", "+tc.name, func(t *testing.T) {
				status, body, _ := get(t, ts.URL+"/api/v1/export/plan?"+tc.params)
				if status != tc.status || !strings.Contains(body, tc.has) {
					t.Errorf("%d %s; want %d with %s", status, body, tc.status, tc.has)
				}
			})
		}
	}
	check("after a complete walk")
	// A walk of a/ft that stored something and did not finish.
	x, _ := testStores.Load(srv)
	st := x.(*store.Store)
	r, err := st.NewRun("walk", false, []string{"a/ft"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateRun(r, func(tx *store.Tx) error { tx.Run().ModelsAdded = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	plans[0].has = `{"incomplete":{"model":"a/ft","run":2,"command":"hflineage crawl a/ft"}}`
	plans[1].has = `{"incomplete":{"run":2,"command":"hflineage crawl a/ft"}}`
	check("after an unfinished walk")

	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz is not installed")
	}
	status, body, h := get(t, ts.URL+"/api/v1/export?format=svg&model=a/ft")
	if status != 200 || h.Get("X-Hflineage-Layout") != "dot" || h.Get("X-Hflineage-Nodes") != "4" {
		t.Errorf("svg of a/ft: %d, layout %q, nodes %q: %.200s", status, h.Get("X-Hflineage-Layout"), h.Get("X-Hflineage-Nodes"), body)
	}
	if _, _, h := get(t, ts.URL+"/api/v1/export?format=dot&model=a/ft"); h.Get("X-Hflineage-Layout") != "" {
		t.Errorf("a DOT export names a layout: %q", h.Get("X-Hflineage-Layout"))
	}
}
