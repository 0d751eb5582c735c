package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// Runs, their changes and family-size snapshots:
//
//	"R\x00" run(8)                          run record (JSON)
//	"D\x00" run(8) kind(1) payload          a change made by the run (no value)
//	"H\x00" id "\x00" run(8)                family size after the run (JSON)
//	"M\x00" name                            database facts (JSON)
var (
	pRun      = []byte("R\x00")
	pDiff     = []byte("D\x00")
	pSnapshot = []byte("H\x00")
	pMeta     = []byte("M\x00")
)

// Change kinds logged per run.
const (
	diffModelAdded   byte = 'm'
	diffModelRemoved byte = 'n'
	diffEdgeAdded    byte = 'e'
	diffEdgeRemoved  byte = 'f'
)

// Run is one crawl as recorded in the database.
type Run = graph.Run

func runKey(id uint64) []byte { return binary.BigEndian.AppendUint64(append([]byte(nil), pRun...), id) }

// NewRun records the start of a run and returns it with its id.
func (s *Store) NewRun(mode string, full bool, seeds []string) (*Run, error) {
	r := &Run{Mode: mode, Full: full, Seeds: seeds, Started: time.Now().UTC()}
	s.write.Lock() // reads the last run's id, then writes the next
	defer s.write.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		last, err := lastRun(txn)
		if err != nil {
			return err
		}
		r.ID = 1
		if last != nil {
			r.ID = last.ID + 1
		}
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pModel})
		it.Seek(pModel)
		r.LogChanges = it.ValidForPrefix(pModel)
		it.Close()
		r.Bulk = mode == "scan" && !r.LogChanges && last == nil
		return putJSON(txn, runKey(r.ID), r)
	})
	if err != nil {
		return nil, fmt.Errorf("start run: %w", err)
	}
	return r, nil
}

func putJSON(txn *badger.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}

func lastRun(txn *badger.Txn) (*Run, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: pRun, Reverse: true})
	defer it.Close()
	it.Seek(append(append([]byte(nil), pRun...), 0xff))
	if !it.ValidForPrefix(pRun) {
		return nil, nil
	}
	return decodeRun(it.Item())
}

// getRun reads run id in txn (nil when there is none).
func getRun(txn *badger.Txn, id uint64) (*Run, error) {
	item, err := txn.Get(runKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeRun(item)
}

func decodeRun(item *badger.Item) (*Run, error) {
	var r Run
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
		return nil, fmt.Errorf("%w: run record: %v", ErrCorrupt, err)
	}
	return &r, nil
}

// GetRun returns run id, or an error wrapping ErrNotFound.
func (s *Store) GetRun(id uint64) (*Run, error) {
	var r *Run
	err := s.db.View(func(txn *badger.Txn) (err error) {
		r, err = getRun(txn, id)
		if err == nil && r == nil {
			err = fmt.Errorf("run %d: %w", id, ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Runs returns every run, oldest first. When ctx ends it stops and returns
// ctx's error.
func (s *Store) Runs(ctx context.Context) ([]Run, error) {
	var out []Run
	err := s.View(ctx, func(rd *Reader) error {
		// Runs are numbered from 1 and only the latest is ever deleted
		// (DiscardRun): a Get each, not an
		// iterator, which would step over every version a running crawl
		// wrote of its run record (one per page).
		for id := uint64(1); ; id++ {
			if err := rd.step(); err != nil {
				return err
			}
			r, err := getRun(rd.txn, id)
			if err != nil || r == nil {
				return err
			}
			out = append(out, *r)
		}
	})
	return out, err
}

// RunsBefore returns up to n runs numbered below before (0: from the
// latest), newest first, and whether older ones remain. When ctx ends it
// stops and returns ctx's error.
func (s *Store) RunsBefore(ctx context.Context, before uint64, n int) (runs []Run, more bool, err error) {
	err = s.View(ctx, func(rd *Reader) error {
		last, err := lastRun(rd.txn)
		if err != nil || last == nil {
			return err
		}
		if before == 0 || before > last.ID+1 {
			before = last.ID + 1
		}
		// Runs are numbered 1, 2, … without gaps: a Get each (see Runs).
		for id := before - 1; id >= 1; id-- {
			if len(runs) == n {
				more = true
				return nil
			}
			if err := rd.step(); err != nil {
				return err
			}
			r, err := getRun(rd.txn, id)
			if err != nil {
				return err
			}
			if r != nil { // (none above the latest run)
				runs = append(runs, *r)
			}
		}
		return nil
	})
	return runs, more, err
}

// LastRun returns the latest run (nil when none).
func (s *Store) LastRun() (*Run, error) {
	var r *Run
	err := s.db.View(func(txn *badger.Txn) (err error) {
		r, err = lastRun(txn)
		return err
	})
	return r, err
}

// dropBulkIndex forgets the bulk path's index of written keys.
func (s *Store) dropBulkIndex() {
	s.bulk.Lock()
	s.bulk.idx = nil
	s.bulk.Unlock()
}

// UpdateRun is Update within run: the changes fn makes are counted into
// run and logged, and the run record is saved in the same transaction.
// run is changed only when the transaction commits.
func (s *Store) UpdateRun(run *Run, fn func(tx *Tx) error) error {
	var bulk *bulkIndex
	if run.Bulk && !run.Complete {
		s.bulk.Lock() // one bulk commit at a time: they share the index
		defer s.bulk.Unlock()
		if s.bulk.idx == nil || s.bulk.idx.run != run.ID {
			s.bulk.idx = nil
			idx, err := s.newBulkIndex(s.lifetime(), run.ID)
			if err != nil {
				return err
			}
			s.bulk.idx = idx
		}
		bulk = s.bulk.idx
	} else {
		// Any other commit may write keys a bulk run's index would not
		// know of (none does today): the index is rebuilt from disk if that
		// run goes on.
		defer s.dropBulkIndex()
	}
	s.write.Lock()
	defer s.write.Unlock()
	for attempt := 0; ; attempt++ {
		work := *run
		var tx *Tx
		err := s.db.Update(func(txn *badger.Txn) error {
			tx = &Tx{txn: txn, run: &work, bulk: bulk, collect: s.onCommit != nil}
			if err := fn(tx); err != nil {
				return err
			}
			if err := tx.bumpVersions(); err != nil {
				return err
			}
			if tx.runDropped {
				return nil
			}
			return putJSON(txn, runKey(work.ID), &work)
		})
		// Every page of a crawl commits here: the place to keep a writing
		// process from holding the table files it writes (release_linux.go),
		// after the commit, outside the transaction.
		releaseWhileWriting()
		if bulk != nil && (err != nil || work.Complete) {
			// Done with, or the failed commit noted keys as stored that
			// are not: the next commit rebuilds the index from disk.
			s.bulk.idx, bulk = nil, nil
			if err != nil && attempt < 10 && errors.Is(err, badger.ErrConflict) {
				idx, ierr := s.newBulkIndex(s.lifetime(), run.ID)
				if ierr != nil {
					return ierr
				}
				s.bulk.idx, bulk = idx, idx
			}
		}
		if errors.Is(err, badger.ErrConflict) && attempt < 10 {
			continue
		}
		if err == nil {
			*run = work
			s.committed(tx)
		}
		return err
	}
}

// Run returns the run this transaction counts into (nil outside a run):
// changes made to it are saved with the transaction.
func (tx *Tx) Run() *Run { return tx.run }

// DiscardRun deletes, with the transaction, the record of the run it
// counts into, as if the run had never started: for a crawl that fetched
// nothing. It does so only for the latest run that changed nothing (runs
// stay numbered 1, 2, … without gaps, and the next run takes its id), and
// reports whether it did.
func (tx *Tx) DiscardRun() (bool, error) {
	if tx.run == nil || tx.run.Changed() {
		return false, nil
	}
	last, err := lastRun(tx.txn)
	if err != nil || last == nil || last.ID != tx.run.ID {
		return false, err
	}
	if err := tx.txn.Delete(runKey(tx.run.ID)); err != nil {
		return false, err
	}
	tx.runDropped = true
	return true, nil
}

func diffKey(run uint64, kind byte, payload []byte) []byte {
	k := make([]byte, 0, len(pDiff)+9+len(payload))
	k = append(k, pDiff...)
	k = binary.BigEndian.AppendUint64(k, run)
	k = append(k, kind)
	return append(k, payload...)
}

func (tx *Tx) logModel(kind byte, id graph.ModelID) error {
	if tx.run == nil {
		return nil
	}
	switch kind {
	case diffModelAdded:
		tx.run.ModelsAdded++
	case diffModelRemoved:
		tx.run.ModelsRemoved++
	}
	if !tx.run.LogChanges {
		return nil
	}
	return tx.txn.Set(diffKey(tx.run.ID, kind, []byte(id)), nil)
}

func (tx *Tx) logEdge(kind byte, e graph.Edge) error {
	if tx.run == nil {
		return nil
	}
	switch kind {
	case diffEdgeAdded:
		tx.run.EdgesAdded++
	case diffEdgeRemoved:
		tx.run.EdgesRemoved++
	}
	if !tx.run.LogChanges {
		return nil
	}
	return tx.txn.Set(diffKey(tx.run.ID, kind, EdgeKey(e)), nil)
}

// Changes is what one run added and removed.
type Changes struct {
	ModelsAdded, ModelsRemoved []graph.ModelID
	EdgesAdded, EdgesRemoved   []graph.Edge
}

// Changes returns the changes logged for run; keep, if not nil, filters the
// models and edges reported (e.g. to one family). When ctx ends it stops
// and returns ctx's error.
func (s *Store) Changes(ctx context.Context, run uint64, keepModel func(graph.ModelID) bool, keepEdge func(graph.Edge) bool) (*Changes, error) {
	c := &Changes{}
	prefix := binary.BigEndian.AppendUint64(append([]byte(nil), pDiff...), run)
	err := s.View(ctx, func(r *Reader) error {
		it := r.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := r.step(); err != nil {
				return err
			}
			k := it.Item().Key()[len(prefix):]
			if len(k) < 2 {
				return fmt.Errorf("%w: change key %q", ErrCorrupt, k)
			}
			switch k[0] {
			case diffModelAdded, diffModelRemoved:
				id := graph.ModelID(k[1:])
				if keepModel != nil && !keepModel(id) {
					continue
				}
				if k[0] == diffModelAdded {
					c.ModelsAdded = append(c.ModelsAdded, id)
				} else {
					c.ModelsRemoved = append(c.ModelsRemoved, id)
				}
			case diffEdgeAdded, diffEdgeRemoved:
				e, err := DecodeEdgeKey(k[1:])
				if err != nil {
					return err
				}
				if keepEdge != nil && !keepEdge(e) {
					continue
				}
				if k[0] == diffEdgeAdded {
					c.EdgesAdded = append(c.EdgesAdded, e)
				} else {
					c.EdgesRemoved = append(c.EdgesRemoved, e)
				}
			}
		}
		return nil
	})
	return c, err
}

func snapshotKey(id graph.ModelID, run uint64) []byte {
	return binary.BigEndian.AppendUint64(cat(pSnapshot, string(id), ""), run)
}

// PutSnapshot records the size of id's family after run.
func (tx *Tx) PutSnapshot(id graph.ModelID, run uint64, c graph.RelationCounts) error {
	return putJSON(tx.txn, snapshotKey(id, run), c)
}

// Snapshot is a family's size after one run.
type Snapshot struct {
	Run         uint64
	Descendants graph.RelationCounts
}

// History returns the snapshots of id's family, oldest first. When ctx
// ends it stops and returns ctx's error.
func (s *Store) History(ctx context.Context, id graph.ModelID) ([]Snapshot, error) {
	var out []Snapshot
	prefix := cat(pSnapshot, string(id), "")
	err := s.View(ctx, func(r *Reader) error {
		it := r.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := r.step(); err != nil {
				return err
			}
			k := it.Item().Key()[len(prefix):]
			if len(k) != 8 {
				return fmt.Errorf("%w: snapshot key %q", ErrCorrupt, it.Item().Key())
			}
			sn := Snapshot{Run: binary.BigEndian.Uint64(k)}
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &sn.Descendants) }); err != nil {
				return fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
			}
			out = append(out, sn)
		}
		return nil
	})
	return out, err
}

// Database facts kept under "M\x00" name.
const (
	metaLastScan = "lastscan" // LastScan
	metaPageSize = "pagesize" // MaxPageSize
)

// LastScan is what the store remembers of the latest complete scan.
type LastScan = graph.LastScan

// LastScan returns the latest complete scan; ok is false when there was none.
func (s *Store) LastScan() (last LastScan, ok bool, err error) {
	ok, err = s.getMeta(metaLastScan, &last)
	if err != nil {
		err = fmt.Errorf("%w: last scan: %v", ErrCorrupt, err)
	}
	return last, ok, err
}

// SetLastScan records the latest complete scan.
func (tx *Tx) SetLastScan(last LastScan) error {
	return tx.setMeta(metaLastScan, last)
}

// MaxPageSize returns the listing page size the Hub made a scan fall back
// to (it refused a larger one), or 0 when it never did.
func (s *Store) MaxPageSize() (int, error) {
	var n int
	if _, err := s.getMeta(metaPageSize, &n); err != nil {
		return 0, fmt.Errorf("%w: page size: %v", ErrCorrupt, err)
	}
	return n, nil
}

// SetMaxPageSize records the listing page size the Hub accepts.
func (tx *Tx) SetMaxPageSize(n int) error {
	return tx.setMeta(metaPageSize, n)
}

// getMeta reads a database fact into v; ok is false when it is not set.
func (s *Store) getMeta(name string, v any) (ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(cat(pMeta, name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
	})
	return ok, err
}

// setMeta records a database fact.
func (tx *Tx) setMeta(name string, v any) error {
	return putJSON(tx.txn, cat(pMeta, name), v)
}

// RemoveUnseen reconciles the database with a complete scan: every model
// the scan (run) did not see is removed with the edges it declared; one that
// is still named as a parent stays, as a stub (a dangling parent). Stubs no
// longer named by any model go too. Changes are counted into run. When ctx
// ends it stops between two commits and returns ctx's error: run again,
// it finishes the work.
func (s *Store) RemoveUnseen(ctx context.Context, run *Run) error {
	var gone []graph.ModelID
	err := s.View(ctx, func(r *Reader) error {
		it := r.txn.NewIterator(badger.IteratorOptions{Prefix: pModel, PrefetchValues: true})
		defer it.Close()
		for it.Seek(pModel); it.ValidForPrefix(pModel); it.Next() {
			if err := r.step(); err != nil {
				return err
			}
			var rec record
			if err := it.Item().Value(func(v []byte) error { return decodeRecord(v, &rec, false) }); err != nil {
				return fmt.Errorf("%w: model record: %v", ErrCorrupt, err)
			}
			if rec.Stub || rec.Run != run.ID {
				gone = append(gone, rec.ID)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Unseen models first (their edges go), then stubs left without children.
	for pass := 0; pass < 2; pass++ {
		for start := 0; start < len(gone); start += 500 {
			if err := ctx.Err(); err != nil {
				return err
			}
			batch := gone[start:min(start+500, len(gone))]
			err := s.UpdateRun(run, func(tx *Tx) error {
				for _, id := range batch {
					if err := tx.removeModel(id, pass == 1); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// removeModel removes a model the Hub no longer lists: its declared edges
// go; it stays as a stub while children name it. In the stub pass only
// stubs without children are removed.
func (tx *Tx) removeModel(id graph.ModelID, stubPass bool) error {
	rec, found, err := tx.getRecord(id)
	if err != nil || !found {
		return err
	}
	if stubPass != rec.Stub {
		return nil
	}
	tx.dataChanged = true
	for _, p := range rec.Parents {
		if err := tx.deleteEdge(graph.Edge{Parent: p.ID, Child: id, Relation: p.Relation}); err != nil {
			return err
		}
	}
	prefix := cat(pEdge, string(id), "")
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: prefix})
	it.Seek(prefix)
	hasChildren := it.ValidForPrefix(prefix)
	it.Close()
	if !rec.Stub {
		if err := tx.logModel(diffModelRemoved, id); err != nil {
			return err
		}
	}
	if hasChildren {
		if rec.Stub {
			return nil
		}
		tx.note(graph.Change{Op: graph.PutNode, ID: id, Info: graph.NodeInfo{Stub: true}})
		return tx.set(modelKey(id), encodeRecord(&record{Model: graph.Model{ID: id, Stub: true}}))
	}
	if tx.bulk != nil {
		delete(tx.bulk.present, id)
	}
	tx.note(graph.Change{Op: graph.RemoveNode, ID: id})
	return tx.txn.Delete(modelKey(id))
}
