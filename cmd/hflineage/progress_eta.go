package main

import (
	"fmt"
	"time"

	"github.com/hflineage/hflineage/query"
)

// plannedRequests is what the crawl costs, in requests, as planned (0:
// unknown): while a walk lists, the requests made and those its planner
// expects still (Left: queued members and the likely rest of the level,
// which the walk keeps current, resumed or not); else what the planner
// said when the mode was left to it: a walk's cost (a lower bound), a
// scan's, or after a walk switched to a scan what the walk spent and the
// scan's.
func plannedRequests(s query.CrawlStats) int64 {
	p := s.Plan
	switch {
	case s.Left > 0 && (p == nil || !p.Switched):
		return s.Requests + s.Left
	case p == nil:
		return 0
	case p.Switched:
		return int64(p.WalkCost + p.ScanCost)
	case p.Mode == "walk":
		return int64(p.WalkCost)
	}
	return int64(p.ScanCost)
}

// timeLeft estimates the crawl's time left: the planned requests not made
// yet at the rate observed so far; false when unknown (no plan, no rate
// yet, or more requests made than planned).
func timeLeft(s query.CrawlStats) (time.Duration, bool) {
	planned := plannedRequests(s)
	if planned <= 0 || s.Requests <= 0 || s.Requests >= planned || s.Elapsed <= 0 {
		return 0, false
	}
	rate := float64(s.Requests) / s.Elapsed.Seconds()
	return time.Duration(float64(planned-s.Requests) / rate * float64(time.Second)), true
}

// requestsField is the progress line's requests: made, and of how many
// planned while the plan holds.
func requestsField(s query.CrawlStats) string {
	if planned := plannedRequests(s); planned > 0 && s.Requests <= planned {
		return fmt.Sprintf("requests %d/%d", s.Requests, planned)
	}
	return fmt.Sprintf("requests %d", s.Requests)
}

// roughDuration spells d as a person would guess it: 45s, 2m, 1h20m.
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(1, int(d.Round(time.Second)/time.Second)))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	}
	d = d.Round(10 * time.Minute)
	if m := int(d%time.Hour) / int(time.Minute); m != 0 {
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), m)
	}
	return fmt.Sprintf("%dh", int(d/time.Hour))
}
