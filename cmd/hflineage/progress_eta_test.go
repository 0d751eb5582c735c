package main

import (
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
)

// TestProgressTimeLeft: the progress line says the requests made of those
// planned and the time left at the rate so far, when the planner gave a
// cost; nothing of either when it did not or once the plan is overrun;
// the estimate goes before the request count when the line runs short.
func TestProgressTimeLeft(t *testing.T) {
	quiet := crawler.PaceState{Remaining: -1, Quota: -1}
	at := func(requests int64, elapsed time.Duration, plan *crawler.Plan) crawler.Stats {
		return crawler.Stats{Models: 500, Edges: 480, Pages: 40, Requests: requests, Elapsed: elapsed, Pace: quiet, Plan: plan}
	}
	withLeft := func(s crawler.Stats, left int64) crawler.Stats { s.Left = left; return s }
	walk := &crawler.Plan{Mode: "walk", WalkCost: 3030, ScanCost: 9000}
	scan := &crawler.Plan{Mode: "scan", WalkCost: 50000, ScanCost: 3030}
	switched := &crawler.Plan{Mode: "scan", Switched: true, WalkCost: 1000, ScanCost: 3030}
	tests := []struct {
		name  string
		s     crawler.Stats
		width int
		want  string
	}{
		{"walk", at(1234, 100*time.Second, walk), 200, "models 500 · edges 480 · requests 1234/3030 · 12.3 req/s · ~2m left"},
		{"scan", at(30, 10*time.Second, scan), 200, "models 500 · edges 480 · requests 30/3030 · 3.0 req/s · ~17m left"},
		{"switched", at(1030, 1000*time.Second, switched), 200, "models 500 · edges 480 · requests 1030/4030 · 1.0 req/s · ~49m left"},
		{"seconds", at(3000, 100*time.Second, walk), 200, "models 500 · edges 480 · requests 3000/3030 · 30.0 req/s · ~1s left"},
		{"hours", at(100, 1000*time.Second, scan), 200, "models 500 · edges 480 · requests 100/3030 · 0.1 req/s · ~8h10m left"},
		{"no plan", at(1234, 100*time.Second, nil), 200, "models 500 · edges 480 · requests 1234 · 12.3 req/s"},
		{"overrun", at(4000, 100*time.Second, walk), 200, "models 500 · edges 480 · requests 4000 · 40.0 req/s"},
		{"no request yet", at(0, time.Second, walk), 200, "models 500 · edges 480 · requests 0/3030 · 0.0 req/s"},
		{"a walk's own estimate", withLeft(at(1234, 100*time.Second, walk), 1000), 200, "models 500 · edges 480 · requests 1234/2234 · 12.3 req/s · ~1m left"},
		{"a resumed walk", withLeft(at(30, 10*time.Second, nil), 600), 200, "models 500 · edges 480 · requests 30/630 · 3.0 req/s · ~3m left"},
		{"a walk past its plan", withLeft(at(4000, 100*time.Second, walk), 4000), 200, "models 500 · edges 480 · requests 4000/8000 · 40.0 req/s · ~2m left"},
		{"narrow", at(1234, 100*time.Second, walk), 60, "models 500 · requests 1234/3030 · ~2m left"},
		{"narrower", at(1234, 100*time.Second, walk), 40, "models 500 · ~2m left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fitProgress(tt.s, tt.width); got != tt.want {
				t.Errorf("%q\nwant %q", got, tt.want)
			}
		})
	}
}
