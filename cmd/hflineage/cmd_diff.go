package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

type diffJSON struct {
	Run           uint64          `json:"run"`
	Mode          string          `json:"mode"`
	Finished      string          `json:"finished,omitempty"`
	Complete      bool            `json:"complete"`
	Model         graph.ModelID   `json:"model,omitempty"`
	AllNew        bool            `json:"all_new,omitempty"`
	ModelsAdded   []graph.ModelID `json:"models_added"`
	ModelsRemoved []graph.ModelID `json:"models_removed"`
	EdgesAdded    []edgeJSON      `json:"edges_added"`
	EdgesRemoved  []edgeJSON      `json:"edges_removed"`
}

func cmdDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("diff", `diff [flags] [MODEL]

Lists the models and edges the last run added and removed; with MODEL, only
those in MODEL's family (its current members, and edges out of them). A
run that started from an empty database logs no changes: everything it
stored is new.`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print {"run","mode","finished","complete","models_added":[…],"models_removed":[…],"edges_added":[{"parent","child","relation"}],"edges_removed":[…]}`)
	runFlag := fs.Uint64("run", 0, "show run `N` instead of the last")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("diff: name at most one MODEL")
	}
	if len(pos) == 1 {
		if _, err := graph.ParseModelID(pos[0]); err != nil {
			return usagef("%v", err)
		}
	}
	st, err := openForRead(*db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	var run *store.Run
	if *runFlag > 0 {
		run, err = st.GetRun(*runFlag)
	} else {
		run, err = st.LastRun()
		if err == nil && run == nil {
			return fmt.Errorf("no runs in the database yet (run hflineage crawl first)")
		}
	}
	if err != nil {
		return err
	}
	out := diffJSON{Run: run.ID, Mode: run.Mode, Complete: run.Complete, AllNew: !run.LogChanges,
		ModelsAdded: []graph.ModelID{}, ModelsRemoved: []graph.ModelID{}, EdgesAdded: []edgeJSON{}, EdgesRemoved: []edgeJSON{}}
	if !run.Finished.IsZero() {
		out.Finished = run.Finished.UTC().Format(time.RFC3339)
	}
	var keepModel func(graph.ModelID) bool
	var keepEdge func(graph.Edge) bool
	if len(pos) == 1 {
		id, err := resolve(st, pos[0])
		if err != nil {
			return err
		}
		out.Model = id
		members := map[graph.ModelID]bool{}
		err = st.View(func(r *store.Reader) error {
			f, err := graph.LoadFamily(r, id, -1)
			if err != nil {
				return err
			}
			for _, m := range f.Members {
				members[m] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		removedChild := map[graph.ModelID]bool{}
		keepEdge = func(e graph.Edge) bool {
			if members[e.Parent] {
				removedChild[e.Child] = true
				return true
			}
			return false
		}
		keepModel = func(m graph.ModelID) bool { return members[m] || removedChild[m] }
		// Edges first, so that models removed with their edge are kept.
		if _, err := st.Changes(run.ID, func(graph.ModelID) bool { return false }, keepEdge); err != nil {
			return err
		}
	}
	ch, err := st.Changes(run.ID, keepModel, keepEdge)
	if err != nil {
		return err
	}
	out.ModelsAdded = append(out.ModelsAdded, ch.ModelsAdded...)
	out.ModelsRemoved = append(out.ModelsRemoved, ch.ModelsRemoved...)
	for _, e := range ch.EdgesAdded {
		out.EdgesAdded = append(out.EdgesAdded, edgeJSON{e.Parent, e.Child, e.Relation})
	}
	for _, e := range ch.EdgesRemoved {
		out.EdgesRemoved = append(out.EdgesRemoved, edgeJSON{e.Parent, e.Child, e.Relation})
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "run %d (%s", run.ID, run.Mode)
	if run.Full {
		fmt.Fprint(stdout, ", full")
	}
	if out.Finished != "" {
		fmt.Fprintf(stdout, ", finished %s", out.Finished)
	} else {
		fmt.Fprint(stdout, ", unfinished")
	}
	fmt.Fprintln(stdout, ")")
	if out.AllNew {
		_, err := fmt.Fprintf(stdout, "started from an empty database: all %d models and %d edges it stored are new\n", run.ModelsAdded, run.EdgesAdded)
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
