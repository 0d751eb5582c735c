package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hflineage/hflineage/query"
)

func cmdDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("diff", `diff [flags] [MODEL]

Lists the models and edges the last run added and removed; with MODEL, only
those in MODEL's family (its current members, and edges out of them). A
run that started from an empty database logs no changes: everything it
stored is new.`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print {"run","mode","finished","complete","models_added":[…],"models_removed":[…],"edges_added":[{"parent","child","relation"}],"edges_removed":[…]}`)
	runFlag := fs.Int64("run", 0, "show run `N` (runs are numbered from 1, as history lists them) instead of the last")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("diff: name at most one MODEL")
	}
	if isSet(fs, "run") && *runFlag < 1 {
		return usagef("diff: --run %d: runs are numbered from 1 (leave --run out for the last run)", *runFlag)
	}
	o := query.DiffOptions{Run: uint64(*runFlag)}
	if len(pos) == 1 {
		if err := checkModel(pos[0]); err != nil {
			return err
		}
		o.Model = pos[0]
	}
	q, done, err := openEngine(*db)
	if err != nil {
		return err
	}
	defer done()
	out, err := q.Diff(ctx, o)
	if err != nil {
		return queryError(err)
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "run %d (%s", out.Run, out.Mode)
	if out.Full {
		fmt.Fprint(stdout, ", full")
	}
	switch {
	case out.Finished == "":
		fmt.Fprint(stdout, ", unfinished")
	case !out.Complete:
		fmt.Fprintf(stdout, ", ended %s, incomplete", out.Finished)
	default:
		fmt.Fprintf(stdout, ", finished %s", out.Finished)
	}
	fmt.Fprintln(stdout, ")")
	if out.AllNew && out.RunModels == 0 && out.RunEdges == 0 {
		_, err := fmt.Fprintln(stdout, "it stored nothing")
		return err
	}
	if out.AllNew {
		_, err := fmt.Fprintf(stdout, "started from an empty database: all %d models and %d edges it stored are new\n", out.RunModels, out.RunEdges)
		return err
	}
	for _, m := range out.ModelsAdded {
		fmt.Fprintf(stdout, "+ model %s\n", m)
	}
	for _, m := range out.ModelsRemoved {
		fmt.Fprintf(stdout, "- model %s\n", m)
	}
	for _, e := range out.EdgesAdded {
		fmt.Fprintf(stdout, "+ edge  %s -[%s]-> %s\n", e.Parent, e.Relation, e.Child)
	}
	for _, e := range out.EdgesRemoved {
		fmt.Fprintf(stdout, "- edge  %s -[%s]-> %s\n", e.Parent, e.Relation, e.Child)
	}
	_, err = fmt.Fprintf(stdout, "%d models added, %d removed; %d edges added, %d removed\n",
		len(out.ModelsAdded), len(out.ModelsRemoved), len(out.EdgesAdded), len(out.EdgesRemoved))
	return err
}
