package main

import (
	"io"
	"strconv"

	"github.com/hflineage/hflineage/chart"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// writeGrowthPlot draws a family's growth by month of creation: the
// family's size at the end of each month, and the models added that month.
func writeGrowthPlot(path string, s graph.Stats) error {
	c := chart.Chart{Title: "Growth of " + string(s.Root), XLabel: "month of creation (Hub createdAt)", YLabel: "descendants"}
	if len(s.Growth) > 0 {
		g := s.Growth[0]
		total := chart.Series{Name: "family size (cumulative)"}
		monthly := chart.Series{Name: "new that month"}
		sum := 0
		for _, m := range g.Months {
			sum += m.Count
			c.X = append(c.X, m.Month)
			total.Values = append(total.Values, float64(sum))
			monthly.Values = append(monthly.Values, float64(m.Count))
		}
		c.Series = []chart.Series{total, monthly}
		if g.UnknownDates > 0 {
			c.Title += " (" + strconv.Itoa(g.UnknownDates) + " without a creation date not shown)"
		}
	}
	return writeOutput(path, nil, func(w io.Writer) error { return c.WriteSVG(w) })
}

// writeHistoryPlot draws a family's size after each run, by relation.
func writeHistoryPlot(path string, h query.History) error {
	c := chart.Chart{Title: "Family of " + string(h.Model) + " over crawl runs", XLabel: "run (finished)", YLabel: "descendants"}
	series := []chart.Series{{Name: "total"}, {Name: "finetune"}, {Name: "adapter"}, {Name: "quantized"}, {Name: "merge"}}
	for _, r := range h.Runs {
		c.X = append(c.X, "run "+strconv.FormatUint(r.Run, 10)+" "+r.Finished[:min(len(r.Finished), 16)])
		d := r.Descendants
		for i, v := range []int{d.Total, d.Finetune, d.Adapter, d.Quantized, d.Merge} {
			series[i].Values = append(series[i].Values, float64(v))
		}
	}
	c.Series = series
	return writeOutput(path, nil, func(w io.Writer) error { return c.WriteSVG(w) })
}
