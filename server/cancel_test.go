package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// holdHub makes the fake Hub answer the next `free` requests and hold
// every later one until release is called (or the request's client
// leaves); held is closed when the first request is held.
func holdHub(hub *hubtest.Server, free int) (held <-chan struct{}, release func()) {
	gate, h := make(chan struct{}), make(chan struct{})
	var once, rel sync.Once
	var answered atomic.Int64
	hub.Fault = func(_ int, r *http.Request) hubtest.Fault {
		if answered.Add(1) <= int64(free) {
			return hubtest.NoFault
		}
		once.Do(func() { close(h) })
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		return hubtest.NoFault
	}
	return h, func() { rel.Do(func() { close(gate) }) }
}

// send sends a request with a JSON content type (as the CLI and the page
// do) and the token, and returns the status and the body.
func send(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
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

func crawlStatus(t *testing.T, base string) Status {
	t.Helper()
	_, body, _ := get(t, base+"/api/v1/crawl")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return st
}

func outcomeOf(t *testing.T, st Status, id int) Outcome {
	t.Helper()
	for _, o := range st.Finished {
		if o.ID == id {
			return o
		}
	}
	t.Fatalf("crawl %d is not among the finished: %+v", id, st.Finished)
	return Outcome{}
}

// TestCrawlMerge: a crawl the same as one queued or running (seeds in
// another order, a comma list, defaults spelled out) is not queued again:
// POST answers 200 with the existing crawl's id and "merged": true. Two
// identical POSTs sent at once queue one crawl.
func TestCrawlMerge(t *testing.T) {
	const token = "s3cret-s3cret-s3cret"
	_, ts, hub := newTestServer(t, Config{AuthToken: token})
	held, release := holdHub(hub, 0)
	defer release()
	url := ts.URL + "/api/v1/crawl"
	postID := func(body string) (int, bool, int) {
		status, b := post(t, url, token, body)
		var a struct {
			Queued int  `json:"queued"`
			Merged bool `json:"merged"`
		}
		if err := json.Unmarshal([]byte(b), &a); err != nil || a.Queued == 0 {
			t.Fatalf("POST %s: %d %s", body, status, b)
		}
		return a.Queued, a.Merged, status
	}
	running, _, _ := postID(`{"seeds":["` + root + `"],"mode":"walk"}`)
	<-held

	// Two identical crawls at once: one is queued, the other merged into it.
	body := `{"seeds":["a/ft","b/lora"],"mode":"walk"}`
	type answer struct {
		id, status int
		merged     bool
	}
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			id, merged, status := postID(body)
			answers[i] = answer{id, status, merged}
		})
	}
	wg.Wait()
	a, b := answers[0], answers[1]
	if a.id != b.id || a.merged == b.merged || a.id == running {
		t.Fatalf("two identical POSTs at once: %+v and %+v; want one crawl, queued once (202) and merged once (200)", a, b)
	}
	for _, x := range answers {
		if want := map[bool]int{false: 202, true: 200}[x.merged]; x.status != want {
			t.Errorf("answer %+v: status %d, want %d", x, x.status, want)
		}
	}
	queued := a.id

	for _, tc := range []struct {
		name, body string
		merged     bool
		id         int
	}{
		{"the running crawl again", `{"seeds":["` + root + `"],"mode":"walk","depth":-1,"snapshot_min":100}`, true, running},
		{"seeds in another order", `{"seeds":["b/lora","a/ft"],"mode":"walk"}`, true, queued},
		{"seeds as a comma list, one twice", `{"seeds":["b/lora, a/ft","a/ft"],"mode":"walk"}`, true, queued},
		{"another depth", `{"seeds":["a/ft","b/lora"],"mode":"walk","depth":1}`, false, 0},
		{"another mode", `{"seeds":["a/ft","b/lora"],"mode":"auto"}`, false, 0},
		{"a subset of the seeds", `{"seeds":["a/ft"],"mode":"walk"}`, false, 0},
		{"a walk with full_every (walks take no full rescans)", `{"seeds":["a/ft","b/lora"],"mode":"walk","full_every":"7d"}`, true, queued},
		{"a scan", `{"all":true}`, false, 0},
		{"the scan with full_every", `{"all":true,"full_every":"7d"}`, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, merged, status := postID(tc.body)
			switch {
			case merged != tc.merged:
				t.Errorf("merged %v (crawl %d, status %d), want %v", merged, id, status, tc.merged)
			case tc.merged && id != tc.id:
				t.Errorf("merged into crawl %d, want %d", id, tc.id)
			case !tc.merged && (id == running || id == queued):
				t.Errorf("queued as crawl %d, an existing one", id)
			}
		})
	}
	if st := crawlStatus(t, ts.URL); len(st.Queue) != 6 {
		t.Errorf("queue %+v: want the 6 distinct crawls", st.Queue)
	}
}

// TestCrawlCancel: DELETE /api/v1/crawl/{id} removes a queued crawl, and
// stops a running one at its next commit, what it crawled kept and its
// position dropped (recorded as canceled, not failed or stopped): another
// crawl then runs to completion (it was refused for "an unfinished crawl
// with other parameters", and so was every scheduled crawl after a
// cancel), and the same crawl starts over; an
// unknown id is a 404, an ended crawl a 409, and it is guarded as POST is.
func TestCrawlCancel(t *testing.T) {
	const token = "s3cret-s3cret-s3cret"
	s, ts, hub := newTestServer(t, Config{AuthToken: token})
	hub.MaxPageSize = 3
	held, release := holdHub(hub, 3)
	defer release()
	crawl := func(body string) int {
		status, b := post(t, ts.URL+"/api/v1/crawl", token, body)
		var a struct{ Queued int }
		if json.Unmarshal([]byte(b), &a); status != 202 || a.Queued == 0 {
			t.Fatalf("POST %s: %d %s", body, status, b)
		}
		return a.Queued
	}
	walk := `{"seeds":["` + root + `"],"mode":"walk"}`
	running := crawl(walk)
	<-held // it has committed its seed and a page of children, and waits for the Hub
	queued := crawl(`{"seeds":["a/ft"],"mode":"walk"}`)
	del := func(id string) string { return ts.URL + "/api/v1/crawl/" + id }

	for _, tc := range []struct {
		name, method, url, token, contentType string
		status                                int
		has                                   string
	}{
		{"no token", "DELETE", del("2"), "", "application/json", 401, "token"},
		{"wrong token", "DELETE", del("2"), "guess-guess-guess-guess", "application/json", 401, "token"},
		{"not JSON", "DELETE", del("2"), token, "text/plain", 415, "application/json"},
		{"not a number", "DELETE", del("two"), token, "application/json", 400, "id must be a crawl's number"},
		{"unknown crawl", "DELETE", del("99"), token, "application/json", 404, "no such crawl: 99"},
		{"GET of one crawl", "GET", del("2"), "", "", 405, "use DELETE"},
		{"DELETE of the queue", "DELETE", ts.URL + "/api/v1/crawl", token, "application/json", 405, "GET, POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.has) {
				t.Errorf("%d %s; want %d containing %q", resp.StatusCode, b, tc.status, tc.has)
			}
		})
	}
	if st := crawlStatus(t, ts.URL); st.Running == nil || st.Running.ID != running || len(st.Queue) != 1 {
		t.Fatalf("refused DELETEs changed the queue: %+v", st)
	}

	// A queued crawl leaves the queue at once.
	if status, b := send(t, "DELETE", del(itoa(queued)), token, ""); status != 200 || b != `{"canceled":`+itoa(queued)+`,"was":"queued"}`+"\n" {
		t.Errorf("cancel of the queued crawl: %d %s", status, b)
	}
	st := crawlStatus(t, ts.URL)
	if o := outcomeOf(t, st, queued); len(st.Queue) != 0 || !o.Canceled || o.Complete || o.Stopped || o.Run != 0 {
		t.Errorf("after canceling the queued crawl: queue %+v, outcome %+v", st.Queue, o)
	}
	if status, b := send(t, "DELETE", del(itoa(queued)), token, ""); status != 409 || !strings.Contains(b, "ended") {
		t.Errorf("cancel of a canceled crawl: %d %s, want 409", status, b)
	}

	// The running crawl stops at its next commit, its position dropped.
	if status, b := send(t, "DELETE", del(itoa(running)), token, ""); status != 202 || !strings.Contains(b, `"was":"running"`) {
		t.Errorf("cancel of the running crawl: %d %s", status, b)
	}
	waitIdle(t, ts.URL)
	o := outcomeOf(t, crawlStatus(t, ts.URL), running)
	if !o.Canceled || o.Complete || o.Stopped || o.Run == 0 || o.Pages == 0 || !strings.Contains(o.Error, "position dropped") {
		t.Errorf("the canceled crawl's outcome: %+v", o)
	}
	if status, _ := send(t, "DELETE", del(itoa(running)), token, ""); status != 409 {
		t.Errorf("cancel of an ended crawl: %d, want 409", status)
	}
	if unfinished, ok, err := s.q.UnfinishedCrawl(); err != nil || ok {
		t.Fatalf("the canceled crawl's position: %+v %v %v; want it dropped", unfinished, ok, err)
	}

	// Another crawl runs (it was refused for "an unfinished crawl with
	// other parameters"), then the same one starts over (a new crawl, not
	// merged into the canceled one).
	release()
	other := crawl(`{"seeds":["a/ft"],"mode":"walk"}`)
	waitIdle(t, ts.URL)
	if o := outcomeOf(t, crawlStatus(t, ts.URL), other); !o.Complete || o.Error != "" {
		t.Errorf("another crawl after the cancel: %+v; want it complete", o)
	}
	again := crawl(walk)
	waitIdle(t, ts.URL)
	if o := outcomeOf(t, crawlStatus(t, ts.URL), again); again == running || !o.Complete || o.Error != "" {
		t.Errorf("the same crawl after the cancel: crawl %d, %+v", again, o)
	}
	if _, ok, _ := s.q.UnfinishedCrawl(); ok {
		t.Error("the resumed crawl left an unfinished crawl behind")
	}
}
