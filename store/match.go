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
