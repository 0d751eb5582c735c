package store

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// ModelIDs calls fn with the id of every model record (stubs included) in
// id order, reading keys only: cheaper than Models when the records are
// not needed. The id is valid only during the call.
func (r *Reader) ModelIDs(fn func(graph.ModelID) error) error {
	it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pModel})
	defer it.Close()
	for it.Seek(pModel); it.ValidForPrefix(pModel); it.Next() {
		if err := r.step(); err != nil {
			return err
		}
		if err := fn(graph.ModelID(it.Item().Key()[len(pModel):])); err != nil {
			return err
		}
	}
	return nil
}
