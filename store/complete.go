package store

import (
	"context"
	"errors"

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
	runs, err := s.Runs(ctx)
	if err != nil {
		return false, 0, err
	}
	if len(runs) == 0 {
		return true, 0, nil
	}
	lineage := map[graph.ModelID]bool{id: true}
	err = s.View(ctx, func(r *Reader) error {
		a, err := graph.LoadAncestors(ctx, r, id)
		if err != nil {
			return err
		}
		for anc := range a.Distance {
			lineage[anc] = true
		}
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	seeds := seedResolver{s: s, ids: map[string]graph.ModelID{}}
	for i := len(runs) - 1; i >= 0; i-- {
		r := &runs[i]
		if !r.Complete && !r.Changed() {
			continue
		}
		covers := r.Mode == "scan"
		for _, name := range r.Seeds {
			if covers {
				break
			}
			sid, err := seeds.resolve(name)
			if err != nil {
				return false, 0, err
			}
			covers = lineage[sid]
		}
		if covers {
			return r.Complete, r.ID, nil
		}
	}
	return true, 0, nil
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
