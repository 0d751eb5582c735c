package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("history", `history [flags] MODEL

Shows how MODEL's family grew: its size after each run that recorded it,
oldest first. Runs record the seeds of walks and, after a scan, every family
with at least --snapshot-min descendants (100 by default).`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print {"model","runs":[{"run","finished","mode","descendants":{…}}]}`)
	plot := fs.String("plot", "", "draw the family's size over the runs to `FILE` (SVG; PNG if it ends in .png)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneModel("history", pos)
	if err != nil {
		return err
	}
	if *plot != "" {
		if err := checkPlotPath("history", *plot); err != nil {
			return err
		}
	}
	q, done, err := openEngine(*db)
	if err != nil {
		return err
	}
	defer done()
	h, err := q.History(ctx, name)
	if err != nil {
		return queryError(err)
	}
	if *plot != "" {
		if err := writeHistoryPlot(*plot, h); err != nil {
			return err
		}
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(h)
	}
	fmt.Fprintf(stdout, "%s\n\n", h.Model)
	if len(h.Runs) == 0 {
		_, err := fmt.Fprintln(stdout, "no runs recorded this family yet (crawl it, or scan with --snapshot-min low enough)")
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "run\tfinished\tmode\tadapter\tfinetune\tmerge\tquantized\ttotal\t\n")
	for _, r := range h.Runs {
		d := r.Descendants
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", r.Run, r.Finished, r.Mode, d.Adapter, d.Finetune, d.Merge, d.Quantized, d.Total)
	}
	return tw.Flush()
}
