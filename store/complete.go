package store

import (
	"context"
	"errors"
	"slices"

	"github.com/hflineage/hflineage/graph"
)

// Whether what the database says of a family is the result of a finished
// crawl. Every crawl is a run; a run is marked complete only when its crawl
// finishes, so an interrupted, failed or abandoned crawl leaves an incomplete
// run behind (and, until it is resumed or abandoned, its crawl state).
//
// A run covers a model when it would have listed the model's descendants:
// every scan does; a walk does when one of its seeds is the model or one of
// its ancestors in the stored graph. The latest run covering a model is the
// family's last crawl: a later complete run supersedes an earlier incomplete
// one, and a later incomplete one leaves the family partial whatever came
// before, unless it changed nothing (see Run.Changed: say a crawl abandoned
// before its first page, or an interrupted re-walk of an unchanged family),
// which leaves the data as the run before it did and is passed over. (A run
// does not record a walk's --depth: a complete walk bounded above the model
// counts as covering it.)

// FamilyComplete reports whether the last crawl of id's family completed.
// When it did not, complete is false and run is that crawl's run. When it
// did, run is its run; when no run ever covered id (a model stored only as
// another's parent or child, or a database without runs), complete is true
// and run is 0: no crawl of the family was left unfinished. id must be a
// canonical id (see Resolve); a seed the database cannot resolve covers
// nothing. When ctx ends it stops and returns ctx's error.
func (s *Store) FamilyComplete(ctx context.Context, id graph.ModelID) (complete bool, run uint64, err error) {
	complete, run, covering, err := s.FamiliesComplete(ctx, []graph.ModelID{id})
	if err != nil {
		return false, 0, err
	}
	if complete && len(covering) == 1 {
		run = covering[0]
	}
	return complete, run, nil
}

// FamiliesComplete reports whether the last crawl of every one of ids'
// families completed, as FamilyComplete does for one (reading the runs
// and each id's ancestry once). When one did not, complete is false and
// run is that crawl's run (the latest such). covering lists the runs the
// ids' families were last crawled by (none for ids no run covered).
func (s *Store) FamiliesComplete(ctx context.Context, ids []graph.ModelID) (complete bool, run uint64, covering []uint64, err error) {
	runs, err := s.Runs(ctx)
	if err != nil || len(runs) == 0 {
		return err == nil, 0, nil, err
	}
	// The latest scan decides every family no walk since covered: when no
	// walk came after it, no ancestry need be read (an ecosystem may have
	// hundreds of thousands of roots).
	for i := len(runs) - 1; i >= 0; i-- {
		r := &runs[i]
		if !r.Complete && !r.Changed() {
			continue
		}
		if r.Mode == "scan" {
			if len(ids) == 0 {
				return true, 0, nil, nil
			}
			if r.Complete {
				return true, 0, []uint64{r.ID}, nil
			}
			return false, r.ID, []uint64{r.ID}, nil
		}
		break // a walk since: read the ancestries
	}
	// owners[m]: the ids whose lineage (the id and its ancestors) holds m.
	owners := map[graph.ModelID][]int{}
	err = s.View(ctx, func(r *Reader) error {
		for k, id := range ids {
			a, err := graph.LoadAncestors(ctx, r, id)
			if err != nil {
				return err
			}
			owners[id] = append(owners[id], k)
			for anc := range a.Distance {
				owners[anc] = append(owners[anc], k)
			}
		}
		return nil
	})
	if err != nil {
		return false, 0, nil, err
	}
	decided := make([]bool, len(ids))
	left := len(ids)
	complete = true
	used := map[uint64]bool{}
	decide := func(k int, r *Run) {
		if decided[k] {
			return
		}
		decided[k], left = true, left-1
		used[r.ID] = true
		if !r.Complete && complete {
			complete, run = false, r.ID
		}
	}
	seeds := seedResolver{s: s, ids: map[string]graph.ModelID{}}
	for i := len(runs) - 1; i >= 0 && left > 0; i-- {
		r := &runs[i]
		if !r.Complete && !r.Changed() {
			continue
		}
		if r.Mode == "scan" {
			for k := range ids {
				decide(k, r)
			}
			break
		}
		for _, name := range r.Seeds {
			sid, err := seeds.resolve(name)
			if err != nil {
				return false, 0, nil, err
			}
			for _, k := range owners[sid] {
				decide(k, r)
			}
		}
	}
	for id := range used {
		covering = append(covering, id)
	}
	slices.Sort(covering)
	return complete, run, covering, nil
}

// DatabaseComplete reports whether every family the database holds was last
// crawled to the end: false, with the run, when the latest scan, or the
// latest walk of some seed since it, did not complete. A complete scan
// supersedes every run before it; an unfinished run that changed nothing is
// passed over, as in FamilyComplete. When complete, run is the latest run
// (0 in a database without runs). When ctx ends it stops and returns ctx's
// error.
func (s *Store) DatabaseComplete(ctx context.Context) (complete bool, run uint64, err error) {
	runs, err := s.Runs(ctx)
	if err != nil {
		return false, 0, err
	}
	seeds := seedResolver{s: s, ids: map[string]graph.ModelID{}}
	decided := map[graph.ModelID]bool{} // seeds whose latest walk has been seen
	for i := len(runs) - 1; i >= 0; i-- {
		r := &runs[i]
		if !r.Complete && !r.Changed() {
			continue
		}
		if r.Mode == "scan" {
			if !r.Complete {
				return false, r.ID, nil
			}
			break
		}
		for _, name := range r.Seeds {
			sid, err := seeds.resolve(name)
			if err != nil {
				return false, 0, err
			}
			if decided[sid] {
				continue
			}
			decided[sid] = true
			if !r.Complete {
				return false, r.ID, nil
			}
		}
	}
	if len(runs) == 0 {
		return true, 0, nil
	}
	return true, runs[len(runs)-1].ID, nil
}

// seedResolver maps seed names as given to a crawl to canonical ids, once
// each; a name the database does not know stays as given.
type seedResolver struct {
	s   *Store
	ids map[string]graph.ModelID
}

func (sr seedResolver) resolve(name string) (graph.ModelID, error) {
	if id, ok := sr.ids[name]; ok {
		return id, nil
	}
	id, err := sr.s.Resolve(name)
	if errors.Is(err, ErrNotFound) {
		id, err = graph.ModelID(name), nil
	}
	if err != nil {
		return "", err
	}
	sr.ids[name] = id
	return id, nil
}
