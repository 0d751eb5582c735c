package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hflineage/hflineage/query"
)

func cmdDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("diff", `diff [flags] [MODEL|PATTERN]

Lists the models and edges the last run added and removed; with MODEL, only
those in MODEL's family (its current members, and edges out of them); with
a PATTERN ('meta-llama/*', a glob, names separated by commas), those of the
ecosystem (its roots and current members). A run that started from an
empty database logs no changes: everything it stored is new.

With --since RUN|DATE and a MODEL or PATTERN, lists run by run, newest
first, the members each run added to the family and removed from it: the
runs after run RUN, or those that finished at DATE or later (RFC 3339, or
YYYY-MM-DD), at most --runs of them.`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print {"run","mode","finished","complete","model","all_new","models_added":[…],"models_removed":[…],"edges_added":[{"parent","child","relation"}],"edges_removed":[…],"full","run_models_added","run_edges_added"}; with --since {"model","members","runs":[{"run","mode","finished","complete","members","added":[{"model","relations","change"}],"removed":[…],"added_count","removed_count","truncated"}],"more","data_version"}`)
	runFlag := fs.Int64("run", 0, "show run `N` (runs are numbered from 1, as history lists them) instead of the last")
	sinceFlag := fs.String("since", "", "list the members each run added and removed since run `RUN` (the runs after it) or a DATE (RFC 3339 or YYYY-MM-DD), newest first")
	runsFlag := fs.Int("runs", query.DefaultChangeRuns, fmt.Sprintf("with --since, examine at most `N` runs, the newest (1 to %d)", query.MaxChangeRuns))
	idsFlag := fs.Int("ids", query.DefaultChangeIDs, fmt.Sprintf("with --since, list at most `N` members per run of the added and of the removed (1 to %d; the counts are whole)", query.MaxChangeIDs))
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("diff: name at most one MODEL or PATTERN (several models: separate them with commas)")
	}
	if isSet(fs, "run") && *runFlag < 1 {
		return usagef("diff: --run %d: runs are numbered from 1 (leave --run out for the last run)", *runFlag)
	}
	if isSet(fs, "since") {
		if isSet(fs, "run") {
			return usagef("diff: --run and --since exclude each other (one run, or the runs since one)")
		}
		return diffSince(ctx, *db, pos, query.ChangesOptions{Since: *sinceFlag, Runs: *runsFlag, IDs: *idsFlag}, *jsonOut, stdout)
	}
	if isSet(fs, "runs") || isSet(fs, "ids") {
		return usagef("diff: --runs and --ids go with --since")
	}
	o := query.DiffOptions{Run: uint64(*runFlag)}
	eco := false
	if len(pos) == 1 {
		if o.Model, eco, err = ecosystemArgs("diff", pos); err != nil {
			return err
		}
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	var out query.Diff
	if eco {
		out, err = q.DiffEcosystem(ctx, o)
	} else {
		out, err = q.Diff(ctx, o)
	}
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
	if out.AllNew && out.Model != "" {
		// Of a family, not of the whole run: what the run stored beyond
		// it is no business of this question.
		what := "the family of " + string(out.Model)
		if eco {
			what = "the ecosystem " + string(out.Model)
		}
		_, err := fmt.Fprintf(stdout, "started from an empty database: every model of %s is new (the run logged no changes to list)\n", what)
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

// diffSince prints what each run since o.Since added to the family of a
// MODEL or PATTERN and removed from it, newest first.
func diffSince(ctx context.Context, db string, pos []string, o query.ChangesOptions, jsonOut bool, stdout io.Writer) error {
	if len(pos) == 0 {
		return usagef("diff: --since needs a MODEL or a PATTERN such as 'meta-llama/*'")
	}
	if o.Since == "" {
		return usagef("diff: --since needs a run number or a date (RFC 3339 or YYYY-MM-DD)")
	}
	if o.Runs < 1 || o.Runs > query.MaxChangeRuns {
		return usagef("diff: --runs %d: from 1 to %d", o.Runs, query.MaxChangeRuns)
	}
	if o.IDs < 1 || o.IDs > query.MaxChangeIDs {
		return usagef("diff: --ids %d: from 1 to %d", o.IDs, query.MaxChangeIDs)
	}
	var err error
	if o.Model, _, err = ecosystemArgs("diff", pos); err != nil {
		return err
	}
	q, done, err := openEngine(ctx, db)
	if err != nil {
		return err
	}
	defer done()
	c, err := q.Changes(ctx, o)
	if err != nil {
		if errors.Is(err, query.ErrInvalid) && strings.HasPrefix(err.Error(), "since ") {
			return usagef("--%v", err) // the engine names its parameter; the CLI, its flag
		}
		return queryError(err)
	}
	if jsonOut {
		return json.NewEncoder(stdout).Encode(c)
	}
	return writeChanges(stdout, c, o)
}

// writeChanges prints a Changes run by run.
func writeChanges(w io.Writer, c query.Changes, o query.ChangesOptions) error {
	what := "the family of " + c.Model
	if c.Ecosystem {
		what = "the ecosystem " + c.Model
	}
	fmt.Fprintf(w, "members of %s added and removed since %s, newest first (%s now)\n", what, o.Since, plural(c.Members, "member"))
	changed := 0
	for _, r := range c.Runs {
		fmt.Fprintf(w, "run %d (%s", r.Run, r.Mode)
		switch {
		case r.Finished == "":
			fmt.Fprint(w, ", unfinished")
		case !r.Complete:
			fmt.Fprintf(w, ", ended %s, incomplete", r.Finished)
		default:
			fmt.Fprintf(w, ", finished %s", r.Finished)
		}
		if !r.Changed() {
			fmt.Fprintln(w, "): no change")
			continue
		}
		changed++
		fmt.Fprintf(w, "): %d added, %d removed; %s after it\n", r.AddedCount, r.RemovedCount, plural(r.Members, "member"))
		if r.AllNew {
			fmt.Fprintln(w, "  started from an empty database: every member is new")
		}
		line := func(sign string, m query.ChangedMember) {
			rels := make([]string, len(m.Relations))
			for i, rel := range m.Relations {
				rels[i] = string(rel)
			}
			fmt.Fprintf(w, "  %s %s (%s, %s)\n", sign, m.Model, strings.Join(rels, ", "), m.Change)
		}
		for _, m := range r.Added {
			line("+", m)
		}
		if n := r.AddedCount - len(r.Added); n > 0 {
			fmt.Fprintf(w, "  + … %d more (--ids %d lists at most %d)\n", n, o.IDs, o.IDs)
		}
		for _, m := range r.Removed {
			line("-", m)
		}
		if n := r.RemovedCount - len(r.Removed); n > 0 {
			fmt.Fprintf(w, "  - … %d more (--ids %d lists at most %d)\n", n, o.IDs, o.IDs)
		}
	}
	fmt.Fprintf(w, "%s examined, %d changed %s\n", plural(len(c.Runs), "run"), changed, what)
	if c.More {
		fmt.Fprintf(w, "older runs since %s were not examined (--runs %d; at most %d)\n", o.Since, o.Runs, query.MaxChangeRuns)
	}
	return nil
}
