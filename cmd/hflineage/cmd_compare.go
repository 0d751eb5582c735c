package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hflineage/hflineage/chart"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", `compare [flags] ECOSYSTEM ECOSYSTEM...

Compares two or more ecosystems side by side: their members by relation
(each model once per ecosystem), their share of the models with lineage in
the database, members shared by two of their roots, depth, the share of
members keeping the license of the root they descend from, the licenses and
the most downloaded members of each, how they grew (members by month of
creation), and the overlap of each pair: the models that descend from both.

An ECOSYSTEM is a pattern — 'meta-llama/*' (every model of the organisation),
a glob ('Qwen/Qwen2.5-*'), a model id — or several separated by commas
('mistralai/*,meta-llama/Llama-2-7b'). Quote patterns, or the shell expands
them.

Examples:
  hflineage compare 'meta-llama/*' 'Qwen/*'
  hflineage compare --plot growth.svg 'meta-llama/*' 'Qwen/*' 'mistralai/*'`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print one JSON object: {"ecosystems":[{"ecosystem","matched","descendants","share","created_per_month","cumulative","top","licenses","keeps_base_license",…}],"overlaps":[{"a","b","members","examples"}],"models_with_lineage","months","complete"}`)
	top := fs.Int("top", 5, "list the `N` most downloaded members of each ecosystem")
	examples := fs.Int("examples", 5, "list `N` models of each overlap (the most downloaded)")
	plot := fs.String("plot", "", "draw the ecosystems' growth (members by month of creation, cumulative) to `FILE` (SVG; PNG if it ends in .png)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *top < 1 || *examples < 1 {
		return usagef("compare: --top and --examples must be at least 1")
	}
	if len(pos) < 2 {
		return usagef("compare: name two ecosystems or more, such as 'meta-llama/*' 'Qwen/*'")
	}
	for _, p := range pos {
		if _, err := graph.ParseEcosystem(p); err != nil {
			return usagef("compare: %v", err)
		}
	}
	if *plot != "" {
		if err := checkPlotPath("compare", *plot); err != nil {
			return err
		}
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	c, err := q.Compare(ctx, query.CompareOptions{Ecosystems: pos, Top: *top, Examples: *examples})
	if err != nil {
		return queryError(err)
	}
	if !c.Complete {
		fmt.Fprintln(stderr, "warning: the last crawl of some of these ecosystems did not complete; the numbers may be partial — rerun the crawl to finish it")
	}
	if *plot != "" {
		ch := compareChart(c)
		if err := writeOutput("compare", "--plot", *plot, nil, func(w io.Writer) error { return ch.Write(w, chart.FormatOf(*plot)) }); err != nil {
			return err
		}
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(c)
	}
	return writeComparison(stdout, c)
}

// writeComparison prints a comparison: a table with a column per
// ecosystem, then each one's licenses and top members, the overlaps, and
// the growth by month.
func writeComparison(w io.Writer, c query.Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, cell func(e query.EcosystemSummary) string) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, e := range c.Ecosystems {
			fmt.Fprintf(tw, "%s\t", cell(e))
		}
		fmt.Fprintln(tw)
	}
	row("", func(e query.EcosystemSummary) string { return e.Ecosystem })
	row("models matched (roots)", func(e query.EcosystemSummary) string { return fmt.Sprint(e.Matched) })
	row("members (derivatives)", func(e query.EcosystemSummary) string { return fmt.Sprint(e.Descendants.Total) })
	for _, r := range graph.Relations {
		row(string(r), func(e query.EcosystemSummary) string { return fmt.Sprint(e.Descendants.Get(r)) })
	}
	row(fmt.Sprintf("share of the %d models with lineage", c.ModelsWithLineage), func(e query.EcosystemSummary) string { return percent(e.Share) })
	row("descend from two roots or more", func(e query.EcosystemSummary) string { return fmt.Sprint(e.Shared) })
	row("max depth", func(e query.EcosystemSummary) string { return fmt.Sprint(e.MaxDepth) })
	row("keep their root's license", func(e query.EcosystemSummary) string {
		if e.BaseLicenseKnown == 0 {
			return "-"
		}
		return percent(e.KeepsBaseLicense)
	})
	row("created on an unknown date", func(e query.EcosystemSummary) string { return fmt.Sprint(e.CreatedUnknown) })
	row("crawled", func(e query.EcosystemSummary) string {
		if e.Crawled == "" {
			return "-"
		}
		return e.Crawled[:10]
	})
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range c.Ecosystems {
		fmt.Fprintf(w, "\n%s\n  licenses: %s\n", e.Ecosystem, licenseMix(e))
		if len(e.Top) > 0 {
			fmt.Fprintln(w, "  most downloaded members (downloads, last 30 days):")
			writeMembers(w, e.Top)
		}
	}
	fmt.Fprintln(w, "\noverlaps (models that descend from both):")
	for _, o := range c.Overlaps {
		fmt.Fprintf(w, "  %s × %s: %d\n", o.A, o.B, o.Members)
		writeMembers(w, o.Examples)
	}
	if len(c.Months) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nmembers by month of creation: cumulative (new that month):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "month\t")
	for _, e := range c.Ecosystems {
		fmt.Fprintf(tw, "%s\t", e.Ecosystem)
	}
	fmt.Fprintln(tw)
	for i, m := range c.Months {
		fmt.Fprintf(tw, "%s\t", m)
		for _, e := range c.Ecosystems {
			fmt.Fprintf(tw, "%d (+%d)\t", e.Cumulative[i], e.CreatedPerMonth[i])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func writeMembers(w io.Writer, ms []query.Member) {
	width := 0
	for _, m := range ms {
		width = max(width, len(fmt.Sprint(m.Downloads)))
	}
	for _, m := range ms {
		fmt.Fprintf(w, "    %*d  %s\n", width, m.Downloads, m.Model)
	}
}

// licenseMix lists the most common licenses with their shares.
func licenseMix(e query.EcosystemSummary) string {
	if e.Descendants.Total == 0 {
		return "-"
	}
	var parts []string
	for i, l := range e.Licenses {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("%d more", len(e.Licenses)-i))
			break
		}
		name := l.License
		if name == "" {
			name = "none declared"
		}
		parts = append(parts, fmt.Sprintf("%s %s", name, percent(float64(l.Members)/float64(e.Descendants.Total))))
	}
	return strings.Join(parts, ", ")
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// ecosystemColors tell the ecosystems apart in a chart (Okabe and Ito's
// palette, readable with every common colour blindness).
var ecosystemColors = []color.Color{
	color.RGBA{0x00, 0x72, 0xb2, 0xff}, color.RGBA{0xe6, 0x9f, 0x00, 0xff}, color.RGBA{0x00, 0x9e, 0x73, 0xff},
	color.RGBA{0xd5, 0x5e, 0x00, 0xff}, color.RGBA{0xcc, 0x79, 0xa7, 0xff}, color.RGBA{0x56, 0xb4, 0xe9, 0xff},
	color.RGBA{0xf0, 0xe4, 0x42, 0xff}, color.Gray{0x22},
}

// compareChart draws each ecosystem's members over months of creation,
// cumulative: one line per ecosystem.
func compareChart(c query.Comparison) chart.Chart {
	ch := chart.Chart{Title: "Ecosystems by month of creation of their members", XLabel: "month of creation (Hub createdAt)", YLabel: "members (cumulative)", X: c.Months, MaxLabels: 24}
	unknown := 0
	for i, e := range c.Ecosystems {
		s := chart.Series{Name: e.Ecosystem, Color: ecosystemColors[i%len(ecosystemColors)]}
		for _, v := range e.Cumulative {
			s.Values = append(s.Values, float64(v))
		}
		ch.Series = append(ch.Series, s)
		unknown += e.CreatedUnknown
	}
	if unknown > 0 {
		ch.Title += fmt.Sprintf(" (%d without a known date not shown)", unknown)
	}
	return ch
}
