package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// The model page's world: a root with every fact the Hub gives, children
// of each relation (one adapter), a merge of three long-named parents, a
// member without a creation date, and a model on the Hub no crawl read.
const (
	mpRoot     = "acme-research/Foundation-Model-7B"
	mpAdapter  = "tiny-org/only-adapter"
	mpMerge    = "merger-lab/Merged-Foundation-Model"
	mpLater    = "later-org/Later-Model"
	mpHubToken = "hf_modelpage_secret_token_0123456789"
)

var mpMergeParents = []string{"another-long-organisation/Another-Long-Model-Name", "third-organisation-name/Third-Model-With-Long-Name"}

// mpStub is a parent the merge names that the Hub does not have: a stub.
const mpStub = "gone-org/Deleted-Base"

func modelPageWorld() *hubtest.World {
	w := hubtest.NewWorld()
	pt := func(id, rel string) hubtest.Parent { return hubtest.Parent{ID: id, Relation: rel} }
	lic := func(parents ...hubtest.Parent) []string {
		return append([]string{"license:apache-2.0"}, hubtest.ParentTags(parents...)...)
	}
	created := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	w.Add(hubtest.Model{ID: mpRoot, Downloads: 123456, Likes: 789, CreatedAt: created, LastModified: created.AddDate(0, 3, 1),
		LibraryName: "transformers", PipelineTag: "text-generation", Gated: "manual", Tags: lic()})
	w.Add(hubtest.Model{ID: mpAdapter, Downloads: 500, Tags: lic(pt(mpRoot, "adapter"))})
	for i, id := range []string{"ft-org/Foundation-Chat", "ft-org/Foundation-Code", "ft-org/Foundation-Math"} {
		w.Add(hubtest.Model{ID: id, Downloads: int64(300 - i), Tags: lic(pt(mpRoot, "finetune"))})
	}
	w.Add(hubtest.Model{ID: "q-org/Foundation-Model-7B-GGUF", Downloads: 200, LibraryName: "gguf", Tags: lic(pt(mpRoot, "quantized"))})
	var merged []hubtest.Parent
	for _, p := range mpMergeParents {
		w.Add(hubtest.Model{ID: p, Downloads: 10, Tags: lic()})
		merged = append(merged, pt(p, "merge"))
	}
	w.Add(hubtest.Model{ID: mpMerge, Downloads: 100, Tags: lic(append([]hubtest.Parent{pt(mpRoot, "merge"), pt(mpStub, "merge")}, merged...)...)})
	w.Add(hubtest.Model{ID: "undated-org/Undated-Finetune", Downloads: 5, Tags: lic(pt(mpAdapter, "finetune")),
		Extra: map[string]any{"createdAt": nil}})
	w.Add(hubtest.Model{ID: mpLater, Downloads: 7, Tags: lic()})
	return w
}

// serveModelPageWorld crawls mpRoot's family walks times (each a run of
// its own) and serves it, with the fake Hub as the server's Hub.
func serveModelPageWorld(t *testing.T, walks int) (*Server, *httptest.Server, *hubtest.Server, *query.Engine) {
	t.Helper()
	ctx := context.Background()
	hub := hubtest.NewServer(modelPageWorld())
	t.Cleanup(hub.Close)
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for range walks {
		w, err := crawler.NewWalker(crawler.Config{Endpoint: hub.URL, MinWait: time.Millisecond}, crawlsink.New(st))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Walk(ctx, []graph.ModelID{mpRoot}, crawler.Options{Depth: -1}); err != nil {
			t.Fatal(err)
		}
	}
	s, ts, e := serveStore(t, st, Config{Hub: crawler.Config{Endpoint: hub.URL, Token: mpHubToken, MinWait: time.Millisecond}})
	return s, ts, hub, e
}

// TestModelRoute: GET /api/v1/model answers the model's record with the
// children table's keys, its page on the configured Hub, and the API's
// errors; the page names the configured Hub; the Hub token is never told.
func TestModelRoute(t *testing.T) {
	_, ts, hub, _ := serveModelPageWorld(t, 1)
	for _, tc := range []struct {
		name, path string
		status     int
		has        []string
	}{
		{"the record", "/api/v1/model?model=" + mpRoot, 200, []string{
			`"id":"acme-research/Foundation-Model-7B","author":"acme-research","downloads":123456,"likes":789,` +
				`"created":"2024-03-01T12:00:00Z","last_modified":"2024-06-02T12:00:00Z","license":"apache-2.0",` +
				`"library_name":"transformers","pipeline_tag":"text-generation","gated":"manual"`,
			`"parents":[]`, `"hub_url":"` + hub.URL + `/` + mpRoot + `"`}},
		{"any letter case", "/api/v1/model?model=ACME-research/foundation-model-7b", 200, []string{`"id":"acme-research/Foundation-Model-7B"`}},
		{"parents", "/api/v1/model?model=" + mpMerge, 200, []string{
			`"parents":[{"parent":"acme-research/Foundation-Model-7B","child":"merger-lab/Merged-Foundation-Model","relation":"merge"},` +
				`{"parent":"another-long-organisation/Another-Long-Model-Name"`}},
		{"a stub", "/api/v1/model?model=" + mpStub, 200, []string{`{"id":"gone-org/Deleted-Base","author":"","downloads":0,"likes":0,"tags":[],"parents":[],"stub":true,"hub_url":"`}},
		{"no creation date", "/api/v1/model?model=undated-org/Undated-Finetune", 200, []string{`"downloads":5,"likes":0,"last_modified"`}},
		{"not in the database", "/api/v1/model?model=" + mpLater, 404, []string{`"error":"model later-org/Later-Model is not in the database`}},
		{"an invalid id", "/api/v1/model?model=a--b/c", 400, []string{`"error":"invalid model id`}},
		{"no model", "/api/v1/model", 400, []string{`"error":"model is required`}},
		{"the page names the Hub", "/", 200, []string{`<meta name="hflineage-hub" content="` + hub.URL + `">`}},
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
			if strings.Contains(body, mpHubToken) {
				t.Errorf("answer tells the Hub token:\n%s", body)
			}
		})
	}
	status, body, _ := get(t, ts.URL+"/api/v1/model?model="+mpRoot)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); status != 200 || err != nil {
		t.Fatalf("model: %d %v", status, err)
	}
	if _, ok := m["stub"]; ok {
		t.Errorf("a crawled model says stub: %s", body)
	}
	if status, _, h := get(t, ts.URL+"/api/v1/model?model="+mpRoot); status != 200 || h.Get("Content-Type") != "application/json" {
		t.Errorf("model: %d, %q", status, h.Get("Content-Type"))
	}
}

// TestHubBase: the Hub's pages are linked at the configured endpoint,
// without what a URL may carry besides (a user and password, a query).
func TestHubBase(t *testing.T) {
	for _, tc := range []struct{ endpoint, env, want string }{
		{"https://hub.example.org/", "", "https://hub.example.org"},
		{"http://127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{"https://user:secret@mirror.example/hf?token=x#y", "", "https://mirror.example/hf"},
		{"", "https://from-env.example", "https://from-env.example"},
		{"", "", "https://huggingface.co"},
		{"not a url", "", ""},
	} {
		t.Setenv("HF_ENDPOINT", tc.env)
		s := &Server{cfg: Config{Hub: crawler.Config{Endpoint: tc.endpoint}}}
		if got := s.hubBase(); got != tc.want {
			t.Errorf("hubBase of %q ($HF_ENDPOINT %q) = %q, want %q", tc.endpoint, tc.env, got, tc.want)
		}
	}
}
