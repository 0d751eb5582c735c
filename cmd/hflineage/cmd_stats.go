package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

func cmdStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stats", `stats [flags]

Describes the stored ecosystem: models, edges by relation, roots, dangling
parents, the largest families (unique descendants by relation, summed
downloads and likes), depth and fan-out distributions, top authors of
derivatives, growth by month of creation, license drift and metadata
quality. --root restricts all of it to one family. The JSON form is
documented in docs/reference.md.

A root is a model with children and no parent (a self-loop aside); the
roots are exactly depth 0 of the depth distribution, which counts models
by shortest distance from a root (models no root reaches: from a dangling
parent). Models with neither parent nor child are counted apart ("models
without lineage"). With --root the chosen model is the one root.

A dangling parent is named in a model's tags but has no record in the
database. The database knows the Hub does not have it when a complete scan
did not list it, or when the Hub answered 401/404 to a crawl's lookup;
any other is outside the crawled families and was never looked up (after
a walk, the co-parents of merges are: the Hub may well serve them). A
"not listed" verdict holds as of the last scan that listed the whole Hub
(the first scan, or --full), which the report names: incremental scans
list only what changed, and miss a model made public later with an older
lastModified.`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, "print one JSON object")
	top := fs.Int("top", 10, "length of the rankings (`N`)")
	root := fs.String("root", "", "describe only the family of `MODEL`")
	plot := fs.String("plot", "", "with --root: draw the family's growth by month to `FILE` (SVG; PNG if it ends in .png)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("stats: unexpected argument %q (a family is chosen with --root)", pos[0])
	}
	if *top < 1 {
		return usagef("stats: --top must be at least 1")
	}
	if *plot != "" && *root == "" {
		return usagef("stats: --plot needs --root")
	}
	if *plot != "" {
		if err := checkPlotPath("stats", *plot); err != nil {
			return err
		}
	}
	if err := checkModel(*root); err != nil {
		return err
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	s, err := q.Stats(ctx, query.StatsOptions{Top: *top, Root: *root})
	if err != nil {
		return queryError(err)
	}
	if s.Incomplete != nil {
		fmt.Fprintln(stderr, s.Incomplete.Warning("these figures"))
	}
	if note := lagNote(s); note != "" {
		fmt.Fprintln(stderr, note)
	}
	if *plot != "" {
		if err := writeGrowthPlot(*plot, s); err != nil {
			return err
		}
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(s)
	}
	return writeStatsReport(stdout, s)
}

func writeStatsReport(w io.Writer, s graph.Stats) error {
	title := "the whole database"
	if s.Root != "" {
		title = "the family of " + string(s.Root)
	}
	fmt.Fprintf(w, "Ecosystem statistics for %s\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "models\t%d\n", s.Models)
	fmt.Fprintf(tw, "models with a parent\t%d\n", s.ModelsWithParent)
	fmt.Fprintf(tw, "edges\t%d (finetune %d, adapter %d, quantized %d, merge %d, other %d)\n", s.Edges,
		s.EdgesByRelation.Finetune, s.EdgesByRelation.Adapter, s.EdgesByRelation.Quantized, s.EdgesByRelation.Merge, s.EdgesByRelation.Other)
	fmt.Fprintf(tw, "roots\t%d (models with children and no parent: depth 0)\n", s.Roots)
	fmt.Fprintf(tw, "models without lineage\t%d (no parent, no children)\n", s.ModelsWithoutLineage)
	d := s.Dangling
	fmt.Fprintf(tw, "dangling parents\t%d (named in tags, no record in the database)\n", s.DanglingParents)
	if s.DanglingParents > 0 {
		fmt.Fprintf(tw, "  not on the Hub\t%d (not listed by a complete scan %d, 401/404 to a lookup %d)\n", d.NotOnHub, d.NotListedByScan, d.LookupFailed)
		if d.ScanRun != 0 {
			fmt.Fprintf(tw, "  \tnot listed: as of %s\n", listingText(d.ScanRun, d.ScanDate))
		}
		fmt.Fprintf(tw, "  not looked up\t%d (outside the crawled families: the Hub may have them)\n", d.NotLookedUp)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nLargest families (downloads and likes: the descendants', summed; downloads (30 days), as the Hub counts them)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "descendants\tfinetune\tadapter\tquantized\tmerge\tdepth\tdownloads\tlikes\t model\n")
	for _, f := range s.LargestFamilies {
		d := f.Descendants
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t %s\n", d.Total, d.Finetune, d.Adapter, d.Quantized, d.Merge, f.MaxDepth, f.Downloads, f.Likes, f.Model)
	}
	tw.Flush()

	if len(d.Top) > 0 {
		fmt.Fprintf(w, "\nDangling parents, most named first\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%8s\tknown\tmodel\n", "children")
		for _, p := range d.Top {
			known := danglingReasonText[p.Reason]
			if p.ScanRun != 0 {
				known = fmt.Sprintf("not on the Hub (not listed by the full scan of run %d, %s)", p.ScanRun, p.ScanDate.Format(time.DateOnly))
			}
			fmt.Fprintf(tw, "%8d\t%s\t%s\n", p.Children, known, p.Model)
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nDepth (models by shortest distance from a root, else from a dangling parent)\n")
	writeBars(w, s.Depth)
	fmt.Fprintf(w, "\nFan-out (parents, dangling ones included, by number of children)\n")
	writeBars(w, s.FanOut)

	fmt.Fprintf(w, "\nTop authors of derivatives (downloads (30 days), summed over their derivatives)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "derivatives\tdownloads\t author\n")
	for _, a := range s.TopAuthors {
		fmt.Fprintf(tw, "%d\t%d\t %s\n", a.Derivatives, a.Downloads, a.Author)
	}
	tw.Flush()

	if len(s.Growth) > 0 {
		g := s.Growth[0]
		fmt.Fprintf(w, "\nGrowth of %s by month of creation (%d with unknown dates)\n", g.Model, g.UnknownDates)
		// Every month from the first to the last, as on the plot's axis: a
		// month without a new model is a bar of 0, not a gap.
		months, counts, err := everyMonth(g.Months)
		if err != nil {
			return err
		}
		var bars []graph.Bucket
		for i, m := range months {
			bars = append(bars, graph.Bucket{Label: m, Count: counts[i]})
		}
		writeBars(w, bars)
	}

	ld := s.LicenseDrift
	fmt.Fprintf(w, "\nLicense drift: %d of %d parent→child edges with both licenses stated change license\n", ld.Drifted, ld.EdgesCompared)
	for _, p := range ld.Top {
		fmt.Fprintf(w, "  %6d  %s → %s\n", p.Count, p.From, p.To)
	}
	q := s.Quality
	_, err := fmt.Fprintf(w, "\nMetadata quality: %d self-loops, %d cycles (%d models), %d dangling parents, %d single-parent merges\n",
		q.SelfLoops, q.Cycles, q.ModelsInCycles, q.DanglingParents, q.SingleParentMerges)
	return err
}

// listingText names the full scan that "not listed" verdicts rest on.
func listingText(run uint64, at time.Time) string {
	return fmt.Sprintf("the full scan of run %d, %s (later incremental scans miss a model made public with an older lastModified; the scheduled full rescans of --full-every find it)", run, at.Format("2006-01-02 15:04 MST"))
}

// danglingReasonText says in the text report what is known of a dangling
// parent.
var danglingReasonText = map[graph.DanglingReason]string{
	graph.NotListedByScan: "not on the Hub (not listed by a complete scan)",
	graph.LookupFailed:    "not on the Hub (401/404 to a lookup)",
	graph.NotLookedUp:     "not looked up",
}

// writeBars draws a distribution as text bars.
func writeBars(w io.Writer, bs []graph.Bucket) {
	peak := 1
	for _, b := range bs {
		peak = max(peak, b.Count)
	}
	for _, b := range bs {
		n := b.Count * 40 / peak
		if b.Count > 0 && n == 0 {
			n = 1
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("  %12s %8d %s", b.Label, b.Count, strings.Repeat("█", n)), " "))
	}
}

// lagNote says when statistics lag the database: a server's come from a
// view refreshed in the background (the JSON says data_version and
// versions_behind); "" when they do not.
func lagNote(s graph.Stats) string {
	if s.VersionsBehind == 0 {
		return ""
	}
	return fmt.Sprintf("note: these figures describe data version %d, %d commit(s) behind the database (being crawled): they are recomputed now and then while a crawl writes and once more when it pauses or ends, each time taking up to ~20 s at 3M models",
		s.DataVersion, s.VersionsBehind)
}
