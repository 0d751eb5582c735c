package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

const webhookSecret = "a-webhook-secret"

// received is what a webhook target got.
type received struct {
	header http.Header
	body   []byte
}

// target is a webhook target that records every request and answers with
// answer(n) for the nth (from 1), but holds a message of run holdFrom or
// later unanswered until its request ends (see barrier).
type target struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	answer   func(n int, r *http.Request) int
	notify   chan struct{}
	holdFrom atomic.Uint64
}

func newTarget(t *testing.T, answer func(n int, r *http.Request) int) *target {
	t.Helper()
	tg := &target{answer: answer, notify: make(chan struct{}, 100)}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.got = append(tg.got, received{header: r.Header.Clone(), body: body})
		n := len(tg.got)
		tg.mu.Unlock()
		select {
		case tg.notify <- struct{}{}:
		default:
		}
		if from := tg.holdFrom.Load(); from != 0 && runOf(body) >= from {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(tg.answer(n, r))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) requests() []received {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return slices.Clone(tg.got)
}

// runOf is the run a message's body is about (0: not a message).
func runOf(body []byte) uint64 {
	var m WebhookMessage
	json.Unmarshal(body, &m)
	return m.Run
}

// barrier walks root once more after adding a finetune of it (root must
// be on the Hub and watched), and waits until that crawl's message reaches
// tg, which holds it unanswered. The webhooks make
// and send messages in order, one at a time, so by then every message of
// the earlier crawls has been sent, answered and recorded, and no other
// will come: what the test saw of them is all there is. It returns the
// requests before the barrier's message.
func barrier(t *testing.T, s *Server, ts *httptest.Server, w *hubtest.World, tg *target, root string) []received {
	t.Helper()
	st := s.crawls.Status(t.Context(), "")
	if len(st.Finished) == 0 {
		t.Fatal("barrier: no crawl before it")
	}
	run := st.Finished[0].Run + 1
	tg.holdFrom.Store(run)
	w.Add(hubtest.Model{ID: "barrier/ft", Tags: hubtest.ParentTags(hubtest.Parent{ID: root, Relation: "finetune"})})
	if _, err := s.Crawl(CrawlRequest{Seeds: []string{root}, Mode: "walk"}, false); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, ts.URL)
	deadline := time.After(30 * time.Second) // fails a test that would hang; nothing polls
	for {
		got := tg.requests()
		for i, r := range got {
			if runOf(r.body) >= run {
				return got[:i]
			}
		}
		select {
		case <-tg.notify:
		case <-deadline:
			t.Fatalf("the barrier's message (run %d) never came; %d requests", run, len(got))
		}
	}
}

// webhookServer scans w (run 1), then serves it with hooks, its crawls
// sending a Hub token.
func webhookServer(t *testing.T, w *hubtest.World, hooks Webhooks) (*Server, *httptest.Server, *query.Engine) {
	t.Helper()
	hub := hubtest.NewServer(w)
	t.Cleanup(hub.Close)
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hubCfg := query.Hub{Endpoint: hub.URL, MinWait: time.Millisecond, MaxWait: time.Second, Token: "hf_the_hub_token"}
	if _, err := query.New(st).Crawl(t.Context(), hubCfg, query.CrawlRequest{All: true, Full: true}, query.CrawlWatch{}); err != nil {
		t.Fatal(err)
	}
	if hooks.Secret == "" {
		hooks.Secret = webhookSecret
	}
	if hooks.Backoff == 0 {
		hooks.Backoff = time.Millisecond
	}
	return serveStore(t, st, Config{Hub: hubCfg, Webhooks: hooks})
}

// crawlAndWait runs a full scan through the server's queue and waits for it.
func crawlAndWait(t *testing.T, s *Server, ts *httptest.Server) {
	t.Helper()
	if _, err := s.Crawl(CrawlRequest{All: true, Full: true}, false); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, ts.URL)
}

// family is spec's members in a lineage, brute force: what the edges reach
// from the roots (the model, or the models a pattern matches), roots excepted.
func family(l hubtest.Lineage, spec string) map[graph.ModelID]bool {
	isRoot := func(id graph.ModelID) bool { return id == graph.ModelID(spec) }
	if graph.IsPattern(spec) {
		eco, err := graph.ParseEcosystem(spec)
		if err != nil {
			panic(err)
		}
		isRoot = eco.Match
	}
	kids := map[graph.ModelID][]graph.ModelID{}
	var todo []graph.ModelID
	for e := range l.Edges {
		kids[e.Parent] = append(kids[e.Parent], e.Child)
		for _, id := range []graph.ModelID{e.Parent, e.Child} {
			if isRoot(id) {
				todo = append(todo, id)
			}
		}
	}
	members := map[graph.ModelID]bool{}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, c := range kids[n] {
			if !isRoot(c) && !members[c] {
				members[c] = true
				todo = append(todo, c)
			}
		}
	}
	return members
}

func difference(a, b map[graph.ModelID]bool) []graph.ModelID {
	var out []graph.ModelID
	for m := range a {
		if !b[m] {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

func ids(ms []query.ChangedMember) []graph.ModelID {
	out := []graph.ModelID{}
	for _, m := range ms {
		out = append(out, m.Model)
	}
	slices.Sort(out)
	return out
}

// TestWebhookChurn: after a crawl of a Hub that changed, each watched
// family the run changed gets one message with exactly the members the
// run added and removed, signed as documented, without the Hub's token.
func TestWebhookChurn(t *testing.T) {
	tg := newTarget(t, func(int, *http.Request) int { return http.StatusNoContent })
	w := hubtest.Generate(hubtest.GenOptions{Models: 800, Seed: 3})
	specs := []string{"base-org-0/Base-Model-0", "base-org-1/*", "nobody/none", "barrier/base"}
	s, ts, _ := webhookServer(t, w, Webhooks{URLs: []string{tg.URL + "/hook?key=x"}, Watch: specs})
	before := w.Lineage()
	w.Churn(100, 40, hubtest.GeneratedUntil.Add(24*time.Hour))
	after := w.Lineage()
	w.Add(hubtest.Model{ID: "barrier/base"}) // a family of none, for the barrier
	crawlAndWait(t, s, ts)

	want := map[string][2][]graph.ModelID{}
	for _, spec := range specs {
		fb, fa := family(before, spec), family(after, spec)
		if added, removed := difference(fa, fb), difference(fb, fa); len(added)+len(removed) > 0 {
			want[spec] = [2][]graph.ModelID{added, removed}
		}
	}
	if len(want) == 0 {
		t.Fatal("the churn changed no watched family: the test tests nothing")
	}
	got := barrier(t, s, ts, w, tg, "barrier/base") // every message of the churn's run, and no more
	if len(got) != len(want) {
		t.Fatalf("%d messages; want %d", len(got), len(want))
	}
	for _, r := range got {
		if a := r.header.Get("Authorization"); a != "" {
			t.Errorf("the target got an Authorization header: %q", a)
		}
		for k, v := range map[string]string{"Content-Type": "application/json", "X-Hflineage-Event": "changes"} {
			if r.header.Get(k) != v {
				t.Errorf("%s: %q; want %q", k, r.header.Get(k), v)
			}
		}
		if r.header.Get("X-Hflineage-Delivery") == "" {
			t.Error("no X-Hflineage-Delivery")
		}
		mac := hmac.New(sha256.New, []byte(webhookSecret))
		mac.Write(r.body)
		if sig := "sha256=" + hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(sig), []byte(r.header.Get("X-Hflineage-Signature-256"))) {
			t.Errorf("signature %q; want %q", r.header.Get("X-Hflineage-Signature-256"), sig)
		}
		var m WebhookMessage
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		w, ok := want[m.Spec]
		if !ok {
			t.Errorf("a message for %s, which the run did not change", m.Spec)
			continue
		}
		delete(want, m.Spec)
		if m.Run != 2 || m.Finished == "" {
			t.Errorf("%s: run %d finished %q; want run 2", m.Spec, m.Run, m.Finished)
		}
		if !slices.Equal(ids(m.Added), w[0]) || !slices.Equal(ids(m.Removed), w[1]) {
			t.Errorf("%s: added %v removed %v; want %v and %v", m.Spec, ids(m.Added), ids(m.Removed), w[0], w[1])
		}
		for _, a := range m.Added {
			if how := map[bool]string{true: query.ChangeNew, false: query.ChangeLinked}[!before.Models[a.Model]]; a.Change != how {
				t.Errorf("%s: %s added as %s; want %s", m.Spec, a.Model, a.Change, how)
			}
		}
		for _, r := range m.Removed {
			if how := map[bool]string{true: query.ChangeDeleted, false: query.ChangeUnlinked}[!after.Models[r.Model]]; r.Change != how {
				t.Errorf("%s: %s removed as %s; want %s", m.Spec, r.Model, r.Change, how)
			}
		}
		if m.Counts.Added != len(w[0]) || m.Counts.Removed != len(w[1]) || m.Counts.Members != len(family(after, m.Spec)) {
			t.Errorf("%s: counts %+v", m.Spec, m.Counts)
		}
	}
	_, metrics, _ := get(t, ts.URL+"/metrics")
	if !strings.Contains(metrics, `hflineage_webhook_deliveries_total{outcome="ok"} `+itoa(len(got))) {
		t.Errorf("metrics:\n%s", grepLines(metrics, "webhook"))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func grepLines(s, word string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// changeHub adds a finetune of a root to w: the next crawl changes its family.
func changeHub(w *hubtest.World, id string) {
	w.Add(hubtest.Model{ID: id, Tags: hubtest.ParentTags(hubtest.Parent{ID: "base-org-0/Base-Model-0", Relation: "finetune"})})
}

// TestWebhookRetried: a target that answers 500 twice and then 200 gets
// the message on the third attempt; the crawl page and /metrics say so.
func TestWebhookRetried(t *testing.T) {
	tg := newTarget(t, func(n int, _ *http.Request) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := hubtest.Generate(hubtest.GenOptions{Models: 200, Seed: 4})
	s, ts, _ := webhookServer(t, w, Webhooks{URLs: []string{tg.URL + "/secret-path"}, Watch: []string{"base-org-0/Base-Model-0"}})
	changeHub(w, "new/ft-1")
	crawlAndWait(t, s, ts)
	got := barrier(t, s, ts, w, tg, "base-org-0/Base-Model-0") // run 2's delivery is over and recorded
	_, body, _ := get(t, ts.URL+"/api/v1/crawl")
	var st struct {
		Webhooks []WebhookDelivery `json:"webhooks"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Webhooks) != 1 {
		t.Fatalf("deliveries %s; want run 2's", body)
	}
	if d := st.Webhooks[0]; d.Outcome != "ok" || d.Attempts != 3 || d.Status != 200 || d.Run != 2 ||
		d.Host != strings.TrimPrefix(tg.URL, "http://") || strings.Contains(body, "secret-path") {
		t.Errorf("deliveries %s", body)
	}
	if len(got) != 3 || !slices.EqualFunc(got[1:], got[:2], func(a, b received) bool {
		return string(a.body) == string(b.body) && a.header.Get("X-Hflineage-Delivery") == b.header.Get("X-Hflineage-Delivery")
	}) {
		t.Errorf("%d attempts; want 3 of the same delivery", len(got))
	}
	_, metrics, _ := get(t, ts.URL+"/metrics")
	for _, want := range []string{`hflineage_webhook_deliveries_total{outcome="ok"} 1`, `hflineage_webhook_deliveries_total{outcome="failed"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "webhook"))
		}
	}
}

// TestWebhookNeverStallsCrawls: with one target down and one that never
// answers, crawls complete one after the other while the deliveries are
// still being tried; Close stops them.
func TestWebhookNeverStallsCrawls(t *testing.T) {
	hang := newTarget(t, func(_ int, r *http.Request) int {
		<-r.Context().Done()
		return http.StatusOK
	})
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	w := hubtest.Generate(hubtest.GenOptions{Models: 200, Seed: 4})
	s, ts, _ := webhookServer(t, w, Webhooks{URLs: []string{hang.URL, downURL}, Watch: []string{"base-org-0/Base-Model-0"},
		Backoff: time.Minute, Timeout: time.Minute})
	changeHub(w, "new/ft-1")
	crawlAndWait(t, s, ts)
	select {
	case <-hang.notify:
	case <-time.After(30 * time.Second):
		t.Fatal("the hanging target was never asked")
	}
	changeHub(w, "new/ft-2")
	crawlAndWait(t, s, ts) // while the first delivery hangs
	st := s.crawls.Status(t.Context(), "")
	if len(st.Finished) != 2 || !st.Finished[0].Complete || !st.Finished[1].Complete {
		t.Errorf("crawls %+v; want 2 complete", st.Finished)
	}
	if d := s.hooks.last(); len(d) != 0 {
		t.Errorf("deliveries ended already: %+v", d)
	}
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(stop); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestWebhookConfig: webhooks need something to watch and a secret, and
// take http(s) URLs with a host only.
func TestWebhookConfig(t *testing.T) {
	for _, u := range []string{"ftp://x.example/", "http://", "x.example/hook", "https:///path", ":bad"} {
		if err := CheckWebhook(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:9/x", "https://hooks.example/services/T/B/X"} {
		if err := CheckWebhook(u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
	e := query.New(nil)
	for _, h := range []Webhooks{
		{URLs: []string{"http://x.example/"}, Secret: "s"},
		{URLs: []string{"http://x.example/"}, Watch: []string{"a/b"}},
		{URLs: []string{"file:///etc/passwd"}, Watch: []string{"a/b"}, Secret: "s"},
		{URLs: []string{"http://x.example/"}, Watch: []string{"a b/c"}, Secret: "s"},
	} {
		if _, err := New(t.Context(), Config{Engine: e, Webhooks: h}); err == nil {
			t.Errorf("%+v accepted", h)
		}
	}
}

// A failed delivery is shown without its URL: a target's path often holds
// the target's own secret (chat tools' incoming webhooks).
func TestWebhookErrorsHideTheURL(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	target := down.URL + "/services/T0/B0/s3cr3t"
	down.Close()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	w := &webhooks{cfg: Webhooks{Secret: "k", Timeout: 5 * time.Second}, targets: []*url.URL{u}, client: &http.Client{}}
	status, msg := w.attempt(t.Context(), delivery{target: w.targets[0], body: []byte("{}")}, "id")
	if status != 0 || msg == "" || strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "/services/") {
		t.Errorf("attempt on a target that is down: %d, %q; want an error without the URL", status, msg)
	}
}
