package main

import (
	"image/color"
	"slices"
	"testing"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// TestGrowthChartEveryMonth: months without a new model are on the axis
// too (2023-10 and 2024-03 were missing), with a count of 0.
func TestGrowthChartEveryMonth(t *testing.T) {
	s := graph.Stats{Root: "a/base", Growth: []graph.FamilyGrowth{{Model: "a/base", UnknownDates: 2, Months: []graph.MonthCount{
		{Month: "2023-08", Count: 3}, {Month: "2023-09", Count: 1}, {Month: "2023-11", Count: 4},
		{Month: "2024-02", Count: 2}, {Month: "2024-04", Count: 5},
	}}}}
	c, err := growthChart(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04"}
	if !slices.Equal(c.X, want) {
		t.Errorf("months %v, want %v", c.X, want)
	}
	for _, s := range c.Series {
		var want []float64
		switch s.Name {
		case "new that month":
			want = []float64{3, 1, 0, 4, 0, 0, 2, 0, 5}
		case "family size (cumulative)":
			want = []float64{3, 4, 4, 8, 8, 8, 10, 10, 15}
		default:
			t.Errorf("series %q", s.Name)
		}
		if !slices.Equal(s.Values, want) {
			t.Errorf("%s = %v, want %v", s.Name, s.Values, want)
		}
	}
	if c.Title != "Growth of a/base (2 without a creation date not shown)" {
		t.Errorf("title %q", c.Title)
	}
	if _, err := growthChart(graph.Stats{Growth: []graph.FamilyGrowth{{Months: []graph.MonthCount{{Month: "last year"}}}}}); err == nil {
		t.Error("a month that is not YYYY-MM: no error")
	}
	if c, err := growthChart(graph.Stats{Root: "a/b"}); err != nil || len(c.X) != 0 {
		t.Errorf("no growth: %v, %v", c.X, err)
	}
}

// TestHistoryChartColours: each relation is drawn in its colour from
// graph.RelationColor, the one DOT exports use.
func TestHistoryChartColours(t *testing.T) {
	h := query.History{Model: "a/base", Runs: []query.HistoryRun{
		{Run: 1, Finished: "2026-11-01T03:00:00Z", Descendants: graph.RelationCounts{Finetune: 2, Adapter: 1, Total: 3}},
		{Run: 4, Finished: "2026-11-02T03:00:00Z", Descendants: graph.RelationCounts{Finetune: 3, Quantized: 2, Merge: 1, Adapter: 1, Total: 6}},
	}}
	c := historyChart(h)
	if !slices.Equal(c.X, []string{"run 1 · 2026-11-01 03:00", "run 4 · 2026-11-02 03:00"}) {
		t.Errorf("labels %q", c.X)
	}
	seen := map[string]bool{}
	for _, s := range c.Series {
		seen[s.Name] = true
		if s.Name == "total" {
			if !slices.Equal(s.Values, []float64{3, 6}) {
				t.Errorf("total %v", s.Values)
			}
			continue
		}
		r := graph.Relation(s.Name)
		if !r.Known() {
			t.Errorf("series %q is not a relation", s.Name)
			continue
		}
		if s.Color != color.Color(graph.RelationColor(r)) {
			t.Errorf("%s drawn in %v, DOT uses %v", r, s.Color, graph.RelationColor(r))
		}
		if want := []float64{float64(h.Runs[0].Descendants.Get(r)), float64(h.Runs[1].Descendants.Get(r))}; !slices.Equal(s.Values, want) {
			t.Errorf("%s = %v, want %v", r, s.Values, want)
		}
	}
	for _, r := range graph.Relations {
		if !seen[string(r)] {
			t.Errorf("no series for %s", r)
		}
	}
}
