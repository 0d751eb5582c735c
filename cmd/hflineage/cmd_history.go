package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("history", `history [flags] MODEL
history [flags] PATTERN|MODEL...

Shows how MODEL's family grew: its size after each run that recorded it,
oldest first. Runs record the seeds of walks and, after a scan, every family
with at least --snapshot-min descendants (100 by default).

Of an ecosystem ('meta-llama/*', a glob, several models: see count --help),
its size after every run: the graph as each run left it is worked out from
the current one and the changes later runs logged (the first run into an
empty database logs none: it is the first shown).`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print {"model","runs":[{"run","finished","mode","descendants":{…}}]} ("ecosystem" in place of "model" for an ecosystem)`)
	plot := fs.String("plot", "", "draw the family's size over the runs to `FILE` (SVG; PNG if it ends in .png)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, eco, err := ecosystemArgs("history", pos)
	if err != nil {
		return err
	}
	if *plot != "" {
		if err := checkPlotPath("history", *plot); err != nil {
			return err
		}
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	var h query.History
	var out any = &h // what --json prints
	if eco {
		eh, err := q.HistoryOfEcosystem(ctx, name)
		if err != nil {
			return queryError(err)
		}
		h, out = query.History{Model: graph.ModelID(eh.Ecosystem), Runs: eh.Runs}, eh
	} else if h, err = q.History(ctx, name); err != nil {
		return queryError(err)
	}
	if *plot != "" {
		if err := writeHistoryPlot(*plot, h, eco); err != nil {
			return err
		}
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(out)
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
