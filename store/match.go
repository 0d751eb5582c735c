package store

import (
	"context"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// MatchModels returns, sorted, the canonical id of every stored model
// (stubs included) that p matches in any letter case. It reads keys only:
// those under the pattern's literal prefix, found through the model keys
// (ids stored in lower case) and the letter-case aliases (the others); a
// pattern that starts with a wildcard reads every model key. When ctx
// ends it stops and returns ctx's error.
func (s *Store) MatchModels(ctx context.Context, p graph.Pattern) ([]graph.ModelID, error) {
	var out []graph.ModelID
	err := s.View(ctx, func(r *Reader) error {
		prefix := p.Prefix()
		if prefix == "" {
			// No literal start: every key, compared in lower case.
			return r.ModelIDs(func(id graph.ModelID) error {
				if p.Match(id) {
					out = append(out, graph.ModelID(strings.Clone(string(id))))
				}
				return nil
			})
		}
		// An id starting with the prefix as written is found by its model
		// key; the others (letters in another case) by their alias.
		if err := r.prefixKeys(cat(pModel, prefix), func(key []byte, _ *badger.Item) error {
			if id := graph.ModelID(key[len(pModel):]); p.Match(id) {
				out = append(out, id)
			}
			return nil
		}); err != nil {
			return err
		}
		return r.prefixKeys(cat(pAlias, prefix), func(_ []byte, item *badger.Item) error {
			var canonical graph.ModelID
			if err := item.Value(func(v []byte) error { canonical = graph.ModelID(v); return nil }); err != nil {
				return err
			}
			if strings.HasPrefix(string(canonical), prefix) || !p.Match(canonical) {
				return nil // found by its model key, or a former name of a model named otherwise now
			}
			if _, err := r.txn.Get(modelKey(canonical)); err == nil {
				out = append(out, canonical)
			} else if err != badger.ErrKeyNotFound {
				return err
			}
			return nil
		})
	})
	slices.Sort(out)
	return slices.Compact(out), err // two aliases may name one model
}

// prefixKeys calls fn with a copy of every key under prefix and its item
// (values not prefetched).
func (r *Reader) prefixKeys(prefix []byte, fn func(key []byte, item *badger.Item) error) error {
	it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := r.step(); err != nil {
			return err
		}
		if err := fn(it.Item().KeyCopy(nil), it.Item()); err != nil {
			return err
		}
	}
	return nil
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
