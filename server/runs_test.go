package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// TestRunsPaged: GET /api/v1/runs answers pages, newest first, of runs
// below ?before, ?limit at a time, with next_before on every page but the
// last; a crawl that fetched nothing adds no run; bad paging is a 400.
func TestRunsPaged(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{}) // run 1
	for _, seeds := range [][]string{{"a/ft"}, {"nobody/nothing"}, {"a/ft"}, {"nobody/else"}, {"a/ft"}, {"a/ft"}} {
		if _, err := s.Crawl(CrawlRequest{Seeds: seeds, Mode: "walk"}, false); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, ts.URL)
	}
	type page struct {
		Runs []struct {
			Run uint64 `json:"run"`
		} `json:"runs"`
		NextBefore uint64 `json:"next_before"`
	}
	read := func(query string) (ids []uint64, next uint64) {
		t.Helper()
		code, body, _ := get(t, ts.URL+"/api/v1/runs"+query)
		var p page
		if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil {
			t.Fatalf("%s: %d %s (%v)", query, code, body, err)
		}
		for _, r := range p.Runs {
			ids = append(ids, r.Run)
		}
		return ids, p.NextBefore
	}
	if ids, next := read(""); !slices.Equal(ids, []uint64{5, 4, 3, 2, 1}) || next != 0 {
		t.Errorf("all runs: %v next %d, want 5…1 (the crawls of nothing recorded none)", ids, next)
	}
	var got []uint64
	q := "?limit=2"
	for pages := 0; ; pages++ {
		ids, next := read(q)
		if len(ids) > 2 || pages > 3 {
			t.Fatalf("%s: %v", q, ids)
		}
		got = append(got, ids...)
		if next == 0 {
			break
		}
		q = fmt.Sprintf("?limit=2&before=%d", next)
	}
	if !slices.Equal(got, []uint64{5, 4, 3, 2, 1}) {
		t.Errorf("paged by 2: %v", got)
	}
	if ids, next := read("?before=999999999999&limit=1"); !slices.Equal(ids, []uint64{5}) || next != 5 {
		t.Errorf("before beyond the last run: %v next %d", ids, next)
	}
	if ids, next := read("?before=1"); len(ids) != 0 || next != 0 {
		t.Errorf("before run 1: %v next %d", ids, next)
	}
	if ids, _ := read("?before=4&limit=1000"); !slices.Equal(ids, []uint64{3, 2, 1}) {
		t.Errorf("before run 4: %v", ids)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?limit=x", "?before=-1", "?before=x"} {
		if code, body, _ := get(t, ts.URL+"/api/v1/runs"+bad); code != 400 {
			t.Errorf("%s: %d %s, want 400", bad, code, body)
		}
	}
}
