package store

import (
	"fmt"

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

// ModelsWhere calls fn, in id order, with the record of every model whose
// id want accepts (stubs included): one pass over the keys that decodes
// only the records wanted. want's id is valid only during the call.
func (r *Reader) ModelsWhere(want func(id []byte) bool, fn func(graph.Model) error) error {
	it := r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pModel})
	defer it.Close()
	for it.Seek(pModel); it.ValidForPrefix(pModel); it.Next() {
		if err := r.step(); err != nil {
			return err
		}
		if !want(it.Item().Key()[len(pModel):]) {
			continue
		}
		var rec record
		if err := it.Item().Value(func(v []byte) error { return decodeRecord(v, &rec, true) }); err != nil {
			return fmt.Errorf("%w: model record %q: %v", ErrCorrupt, it.Item().Key(), err)
		}
		if err := fn(rec.Model); err != nil {
			return err
		}
	}
	return nil
}
