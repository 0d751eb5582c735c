package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCrawlOutcomes: each queued crawl's outcome in GET /api/v1/crawl says
// what the CLI's crawl says of the same crawl. A walk none of whose seeds
// the Hub knows crawled nothing: an error, not complete, and no run is
// recorded (crawl: "nothing crawled", exit 1); a walk with
// some seeds unknown completes and names them as skipped (crawl: exit 3).
func TestCrawlOutcomes(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{})
	for _, tc := range []struct {
		name         string
		seeds        []string
		complete     bool
		error        string // how the error starts; "" for none
		skipped      string // a part of skipped; "" for none
		runCompleted bool
	}{
		{"no seed on the Hub", []string{"nobody/nothing"}, false,
			"nothing crawled: seed nobody/nothing skipped: model not found on the Hub", "", false},
		{"two seeds, none on the Hub", []string{"nobody/nothing", "nobody/else"}, false,
			"nothing crawled: ", "", false},
		{"one seed of two on the Hub", []string{"nobody/nothing", "a/ft"}, true,
			"", "seed nobody/nothing skipped: model not found on the Hub", true},
		{"every seed on the Hub", []string{"a/ft"}, true, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.Crawl(CrawlRequest{Seeds: tc.seeds, Mode: "walk"}, false)
			if err != nil {
				t.Fatal(err)
			}
			waitIdle(t, ts.URL)
			_, body, _ := get(t, ts.URL+"/api/v1/crawl")
			var st Status
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatal(err)
			}
			var o *Outcome
			for i := range st.Finished {
				if st.Finished[i].ID == id {
					o = &st.Finished[i]
				}
			}
			if o == nil {
				t.Fatalf("crawl %d is not among the finished: %s", id, body)
			}
			switch {
			case o.Complete != tc.complete:
				t.Errorf("complete %v, want %v: %+v", o.Complete, tc.complete, o)
			case (tc.error == "") != (o.Error == ""), !strings.HasPrefix(o.Error, tc.error):
				t.Errorf("error %q, want %q", o.Error, tc.error)
			case (tc.skipped == "") != (o.Skipped == ""), !strings.Contains(o.Skipped, tc.skipped):
				t.Errorf("skipped %q, want %q", o.Skipped, tc.skipped)
			case o.Run == 0 && tc.complete:
				t.Errorf("no run recorded: %+v", o)
			case o.Run != 0 && !tc.complete:
				t.Errorf("a crawl of nothing recorded run %d: %+v", o.Run, o)
			}
			if strings.HasPrefix(tc.error, "nothing crawled") && (o.Models != 0 || o.Edges != 0) {
				t.Errorf("a crawl of nothing stored %d models, %d edges", o.Models, o.Edges)
			}
			// The run, as GET /api/v1/runs and the CLI's history list it.
			_, body, _ = get(t, ts.URL+"/api/v1/runs")
			var runs struct {
				Runs []struct {
					Run      uint64 `json:"run"`
					Complete bool   `json:"complete"`
				}
			}
			if err := json.Unmarshal([]byte(body), &runs); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range runs.Runs {
				if r.Run == o.Run {
					found = true
					if r.Complete != tc.runCompleted {
						t.Errorf("run %d recorded complete=%v, want %v", r.Run, r.Complete, tc.runCompleted)
					}
				}
			}
			if !found && o.Run != 0 {
				t.Errorf("run %d is not listed: %s", o.Run, body)
			}
		})
	}
}
