package main

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hflineage/hflineage/chart"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// Colours of the series that are not relations.
var (
	totalColor   = color.Gray{0x22}
	monthlyColor = color.Gray{0xb8}
)

// checkPlotPath refuses a --plot that names no picture file: "-" (the
// text report has stdout) or a name other than .svg or .png, which would
// get an SVG under a name that promises something else.
func checkPlotPath(cmd, path string) error {
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case path == "-":
		return usagef("%s: --plot needs a file name ending in .svg or .png (stdout has the report)", cmd)
	case ext != ".svg" && ext != ".png":
		return usagef("%s: --plot %s: name a .svg or .png file", cmd, path)
	}
	return nil
}

// writeGrowthPlot draws a family's growth by month of creation: the
// family's size at the end of each month, and the models added that month.
// Every month from the first to the last is on the axis, months without a
// new model too. The file is a PNG when path ends in .png, else an SVG.
func writeGrowthPlot(path string, s graph.Stats) error {
	c, err := growthChart(s)
	if err != nil {
		return err
	}
	return writeOutput("stats", "--plot", path, nil, func(w io.Writer) error { return c.Write(w, chart.FormatOf(path)) })
}

func growthChart(s graph.Stats) (chart.Chart, error) {
	c := chart.Chart{Title: "Growth of " + string(s.Root), XLabel: "month of creation (Hub createdAt)", YLabel: "descendants"}
	if len(s.Growth) == 0 {
		return c, nil
	}
	g := s.Growth[0]
	months, counts, err := everyMonth(g.Months)
	if err != nil {
		return c, err
	}
	total := chart.Series{Name: "family size (cumulative)", Color: totalColor}
	monthly := chart.Series{Name: "new that month", Color: monthlyColor, Bars: true}
	sum := 0
	for i, m := range months {
		sum += counts[i]
		c.X = append(c.X, m)
		total.Values = append(total.Values, float64(sum))
		monthly.Values = append(monthly.Values, float64(counts[i]))
	}
	c.Series = []chart.Series{monthly, total}
	if g.UnknownDates > 0 {
		c.Title += " (" + strconv.Itoa(g.UnknownDates) + " without a creation date not shown)"
	}
	return c, nil
}

// everyMonth lists every month from the first to the last of months
// (sorted, YYYY-MM), with its count (0 for months that have none).
func everyMonth(months []graph.MonthCount) (labels []string, counts []int, err error) {
	if len(months) == 0 {
		return nil, nil, nil
	}
	have := map[string]int{}
	for _, m := range months {
		have[m.Month] += m.Count
	}
	first, err := time.Parse("2006-01", months[0].Month)
	if err != nil {
		return nil, nil, fmt.Errorf("growth plot: month %q: %w", months[0].Month, err)
	}
	last, err := time.Parse("2006-01", months[len(months)-1].Month)
	if err != nil {
		return nil, nil, fmt.Errorf("growth plot: month %q: %w", months[len(months)-1].Month, err)
	}
	for t := first; !t.After(last); t = t.AddDate(0, 1, 0) {
		m := t.Format("2006-01")
		labels = append(labels, m)
		counts = append(counts, have[m])
	}
	return labels, counts, nil
}

// writeHistoryPlot draws a family's (or an ecosystem's) size after each run, in total and by
// relation (in the relations' colours, as in DOT exports). The file is a
// PNG when path ends in .png, else an SVG.
func writeHistoryPlot(path string, h query.History, ecosystem bool) error {
	c := historyChart(h)
	if ecosystem {
		c.Title, c.YLabel = "Ecosystem of "+string(h.Model)+" over crawl runs", "members"
	}
	return writeOutput("history", "--plot", path, nil, func(w io.Writer) error { return c.Write(w, chart.FormatOf(path)) })
}

func historyChart(h query.History) chart.Chart {
	c := chart.Chart{Title: "Family of " + string(h.Model) + " over crawl runs", XLabel: "run (finished, UTC)", YLabel: "descendants", MaxLabels: 60}
	series := []chart.Series{{Name: "total", Color: totalColor}}
	for _, r := range graph.Relations {
		series = append(series, chart.Series{Name: string(r), Color: graph.RelationColor(r)})
	}
	for _, r := range h.Runs {
		finished := r.Finished
		if t, err := time.Parse(time.RFC3339, r.Finished); err == nil {
			finished = t.UTC().Format("2006-01-02 15:04")
		}
		c.X = append(c.X, "run "+strconv.FormatUint(r.Run, 10)+" · "+finished)
		series[0].Values = append(series[0].Values, float64(r.Descendants.Total))
		for i, rel := range graph.Relations {
			series[i+1].Values = append(series[i+1].Values, float64(r.Descendants.Get(rel)))
		}
	}
	c.Series = series
	return c
}
