package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// The state of a crawl in progress lives beside the graph and is committed in
// the same transactions as the pages it comes from, so a crash loses at most
// the pages in flight:
//
//	"c\x00job"                        the crawl's parameters (JSON)
//	"c\x00tally"                      what the crawl has counted so far (JSON)
//	"c\x00seen\x00" id                a model already queued or expanded (its depth, 4 bytes)
//	"c\x00todo\x00" depth(4) id       a model still to expand → URL of its next listing page
var (
	pCrawl     = []byte("c\x00")
	crawlJob   = []byte("c\x00job")
	crawlTally = []byte("c\x00tally")
	pSeen      = []byte("c\x00seen\x00")
	pTodo      = []byte("c\x00todo\x00")
)

// CrawlJob describes a crawl in progress.
type CrawlJob = graph.CrawlJob

// CrawlJob returns the crawl in progress, or ok == false when none.
func (s *Store) CrawlJob() (job CrawlJob, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(crawlJob)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &job) })
	})
	if err != nil {
		err = fmt.Errorf("%w: crawl state: %v", ErrCorrupt, err)
	}
	return job, ok, err
}

// SetCrawlJob records the crawl in progress.
func (tx *Tx) SetCrawlJob(job CrawlJob) error {
	v, err := json.Marshal(job)
	if err != nil {
		return err
	}
	return tx.txn.Set(crawlJob, v)
}

// The job record is the crawl: while it is there, the tally, queue and seen
// set are that crawl's; once it is gone, whatever is left under "c\x00" is of
// no crawl, never read, and dropped before the next crawl records its job
// (ClearCrawl). So a crawl ends in one transaction, the one that completes
// its run: Tx.ClearCrawl deletes the job and tally there, and the queue and
// seen set too unless they are too many keys for one transaction.

// clearInTx is how many queue and seen-set keys Tx.ClearCrawl deletes in its
// transaction at most (a Badger transaction holds some 50,000 entries with
// this store's options); a larger rest is left to Store.ClearCrawl.
const clearInTx = 10_000

// ClearCrawl ends the crawl in progress within the transaction: its job and
// tally go, and its queue and seen set with them when they are at most
// clearInTx keys (otherwise they stay, of no crawl, until Store.ClearCrawl).
// The graph and the run are kept.
func (tx *Tx) ClearCrawl() error {
	for _, k := range [][]byte{crawlJob, crawlTally} {
		if err := tx.txn.Delete(k); err != nil {
			return err
		}
	}
	var keys [][]byte
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pCrawl})
	for it.Seek(pCrawl); it.ValidForPrefix(pCrawl) && len(keys) <= clearInTx; it.Next() {
		if k := it.Item().Key(); !bytes.Equal(k, crawlJob) && !bytes.Equal(k, crawlTally) {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
	}
	it.Close()
	if len(keys) > clearInTx {
		return nil // too many for this transaction: Store.ClearCrawl drops them
	}
	for _, k := range keys {
		if err := tx.txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ClearCrawl forgets all crawl state (the graph itself is kept): the job and
// tally first, in one transaction (Tx.ClearCrawl: the crawl ends there),
// then whatever is left of a queue and seen set, of no crawl by then. A
// crash in between leaves no crawl and keys the next ClearCrawl drops. With
// no crawl state at all it writes nothing.
func (s *Store) ClearCrawl() error {
	left, err := s.crawlKeysLeft()
	if err != nil || !left {
		return err
	}
	if err := s.Update(func(tx *Tx) error { return tx.ClearCrawl() }); err != nil {
		return err
	}
	if left, err = s.crawlKeysLeft(); err != nil || !left {
		return err
	}
	// DropPrefix blocks Badger's writes while it runs: hold the write lock
	// so that no commit of ours fails for it.
	s.write.Lock()
	defer s.write.Unlock()
	return s.db.DropPrefix(pCrawl)
}

// crawlKeysLeft reports whether any crawl state is stored.
func (s *Store) crawlKeysLeft() (left bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pCrawl})
		defer it.Close()
		it.Seek(pCrawl)
		left = it.ValidForPrefix(pCrawl)
		return nil
	})
	return left, err
}

func todoKey(depth int, id graph.ModelID) []byte {
	k := make([]byte, 0, len(pTodo)+4+len(id))
	k = append(k, pTodo...)
	k = binary.BigEndian.AppendUint32(k, uint32(depth))
	return append(k, id...)
}

// Enqueue marks id as seen at depth and, when it is new, queues it for
// expansion starting at firstURL. It reports whether id was new.
func (tx *Tx) Enqueue(id graph.ModelID, depth int, firstURL string) (bool, error) {
	seen := cat(pSeen, string(id))
	_, err := tx.txn.Get(seen)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return false, err
	}
	if err := tx.txn.Set(seen, binary.BigEndian.AppendUint32(nil, uint32(depth))); err != nil {
		return false, err
	}
	return true, tx.txn.Set(todoKey(depth, id), []byte(firstURL))
}

// MarkSeen marks id as seen at depth without queueing it (a model at the
// depth bound, stored but not expanded). It reports whether id was new.
func (tx *Tx) MarkSeen(id graph.ModelID, depth int) (bool, error) {
	seen := cat(pSeen, string(id))
	_, err := tx.txn.Get(seen)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return false, err
	}
	return true, tx.txn.Set(seen, binary.BigEndian.AppendUint32(nil, uint32(depth)))
}

// SetNext records the URL of id's next listing page.
func (tx *Tx) SetNext(id graph.ModelID, depth int, next string) error {
	return tx.txn.Set(todoKey(depth, id), []byte(next))
}

// Done removes id from the queue: it is fully expanded.
func (tx *Tx) Done(id graph.ModelID, depth int) error {
	return tx.txn.Delete(todoKey(depth, id))
}

// Pending is a queued model with the URL of its next listing page.
type Pending = graph.Pending

// NextPending returns up to n queued models, shallowest first and in id
// order within a depth, starting after the given one (nil: from the start).
func (s *Store) NextPending(after *Pending, n int) ([]Pending, error) {
	var out []Pending
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: n, Prefix: pTodo})
		defer it.Close()
		start := pTodo
		if after != nil {
			start = append(todoKey(after.Depth, after.ID), 0)
		}
		for it.Seek(start); it.ValidForPrefix(pTodo) && len(out) < n; it.Next() {
			k := it.Item().Key()[len(pTodo):]
			if len(k) < 5 {
				return fmt.Errorf("%w: crawl queue key %q", ErrCorrupt, k)
			}
			p := Pending{Depth: int(binary.BigEndian.Uint32(k)), ID: graph.ModelID(k[4:])}
			if err := it.Item().Value(func(v []byte) error { p.Next = string(v); return nil }); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// CrawlTally is what the crawl in progress has counted so far, saved with
// each page so that a resumed crawl's totals span the whole run.
type CrawlTally = graph.CrawlTally

// SetCrawlTally records the crawl's running totals.
func (tx *Tx) SetCrawlTally(t CrawlTally) error {
	return putJSON(tx.txn, crawlTally, t)
}

// CrawlTally returns the running totals of the crawl in progress; ok is
// false when none were saved (no crawl, or one saved by an older version).
func (s *Store) CrawlTally() (t CrawlTally, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(crawlTally)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &t) })
	})
	if err != nil {
		err = fmt.Errorf("%w: crawl tally: %v", ErrCorrupt, err)
	}
	return t, ok, err
}

// CrawlProgress reports whether the crawl in progress has committed any
// page: by its tally, or, for a crawl saved without one, by a model it
// marked seen (a scan saved without a tally counts as having progressed).
func (s *Store) CrawlProgress() (bool, error) {
	t, ok, err := s.CrawlTally()
	if err != nil || ok {
		return t.Pages > 0, err
	}
	job, ok, err := s.CrawlJob()
	if err != nil || !ok {
		return false, err
	}
	if job.Kind == "scan" {
		return true, nil
	}
	progressed := false
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: pSeen})
		defer it.Close()
		it.Seek(pSeen)
		progressed = it.ValidForPrefix(pSeen)
		return nil
	})
	return progressed, err
}

// Unseen returns the ids, in order, that the crawl in progress has not
// marked seen (queued or stored at the depth bound).
func (s *Store) Unseen(ids []graph.ModelID) ([]graph.ModelID, error) {
	var out []graph.ModelID
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			_, err := txn.Get(cat(pSeen, string(id)))
			switch {
			case errors.Is(err, badger.ErrKeyNotFound):
				out = append(out, id)
			case err != nil:
				return err
			}
		}
		return nil
	})
	return out, err
}

// UnseenMembers returns the members of the roots' families (to maxDepth;
// < 0: no bound), roots and stubs excepted, that the crawl in progress has
// not marked seen, sorted: the models a complete walk found no longer
// listed under the family. When ctx ends it stops and returns ctx's error.
func (s *Store) UnseenMembers(ctx context.Context, roots []graph.ModelID, maxDepth int) ([]graph.ModelID, error) {
	seen := map[graph.ModelID]bool{}
	var members []graph.ModelID
	for _, root := range roots {
		f, err := s.Family(ctx, root, maxDepth)
		if err != nil {
			return nil, err
		}
		for _, id := range f.Members[1:] {
			if !seen[id] {
				seen[id] = true
				members = append(members, id)
			}
		}
	}
	unseen, err := s.Unseen(members)
	if err != nil || len(unseen) == 0 {
		return nil, err
	}
	slices.Sort(unseen)
	var out []graph.ModelID
	err = s.View(ctx, func(r *Reader) error {
		return r.ModelsOf(unseen, func(m graph.Model) error {
			if !m.Stub {
				out = append(out, m.ID)
			}
			return nil
		})
	})
	return out, err
}

// Tidy is the upkeep after a crawl: Badger's value log GC, then the cache
// files that count and stats read (the whole-graph cache too withGraph).
// It is best effort: an error leaves the database correct, only slower.
// When ctx ends it stops (after the value log file being collected) and
// returns ctx's error.
func (s *Store) Tidy(ctx context.Context, withGraph bool) error {
	if err := s.CollectGarbage(ctx); err != nil {
		return err
	}
	return s.RefreshCaches(ctx, withGraph)
}

// PutCrawled stores m as PutModel does, and reports whether the run of this
// transaction had already stored it (again) and then with how many parents
// (earlier): so a crawl counts each model and its edges once, however often
// the Hub lists it. Outside a run, again is false.
func (tx *Tx) PutCrawled(m graph.Model, parents []graph.Parent) (earlier int, again bool, err error) {
	if tx.run != nil {
		old, found, err := tx.getRecord(m.ID)
		if err != nil {
			return 0, false, err
		}
		if found && !old.Stub && old.Run == tx.run.ID {
			earlier, again = len(old.Parents), true
		}
	}
	return earlier, again, tx.PutModel(m, parents)
}

// RemoveGone removes a model the Hub no longer has (it answered 404 or 401
// for it), as a full scan's reconciliation does: the edges it declared go,
// and it stays as a stub only while other models name it as a parent. The
// removal is counted and logged in the transaction's run.
func (tx *Tx) RemoveGone(id graph.ModelID) error {
	return tx.removeModel(id, false)
}

// DropOrphanStub deletes id if it is a stub that no model names as a parent
// any more (after RemoveGone of its last children).
func (tx *Tx) DropOrphanStub(id graph.ModelID) error {
	return tx.removeModel(id, true)
}
