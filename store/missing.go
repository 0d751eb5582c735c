package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// What the database knows of its dangling parents (stubs: parents named in
// tags that it holds no record of). A stub is only a name; whether the Hub
// has the model is known in two cases:
//
//   - a crawl asked the Hub for it and was told 401 or 404 (a walk's seed, or
//     a family member that left): recorded under
//     "N\x00" lower(id) → {"run","status","at"} (the Hub's ids are
//     case-insensitive, so is the record);
//   - a model that names it was stored by a complete scan: a scan lists
//     every public model, and later incremental scans every model changed
//     since, so a parent it named and never listed is not on the Hub (as of
//     that scan; a later change of the child by a walk loses this).
//
// Any other stub was named by a model a walk stored and never asked for:
// it lies outside the crawled families, and the Hub may well serve it.
var pMissing = []byte("N\x00")

func missingKey(id string) []byte { return cat(pMissing, strings.ToLower(id)) }

// Missing is a recorded answer of the Hub that it has no such model.
type Missing struct {
	Run    uint64    `json:"run"`    // the run that asked (0 outside a run)
	Status int       `json:"status"` // 401 or 404
	At     time.Time `json:"at"`
}

// MarkMissing records that the Hub answered status (401 or 404: missing,
// private or gated) to a lookup of name, replacing an earlier answer. It
// changes nothing else: a stub stays a stub, a stored model stays stored.
func (tx *Tx) MarkMissing(name string, status int) error {
	m := Missing{Status: status, At: time.Now().UTC()}
	if tx.run != nil {
		m.Run = tx.run.ID
	}
	return putJSON(tx.txn, missingKey(name), &m)
}

// MissingAnswer returns the Hub's recorded answer that it has no model
// name (in any letter case); ok is false when none is recorded.
func (s *Store) MissingAnswer(name string) (m Missing, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		ok, err = getMissing(txn, name, &m)
		return err
	})
	return m, ok, err
}

func getMissing(txn *badger.Txn, name string, m *Missing) (bool, error) {
	item, err := txn.Get(missingKey(name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, m) }); err != nil {
		return false, fmt.Errorf("%w: missing-model record %s: %v", ErrCorrupt, name, err)
	}
	return true, nil
}

// LastListing returns the latest complete scan that listed the whole Hub
// (ok is false when there is none): a --full scan, or a scan that no
// complete scan preceded (the first lists everything; after it, scans are
// incremental unless --full). A verdict that the Hub does not have a
// parent because no scan listed it holds as of this scan's date: an
// incremental scan lists models by lastModified down to the previous one's
// watermark, and misses a model made public later with an older date.
func (s *Store) LastListing(ctx context.Context) (r graph.Run, ok bool, err error) {
	runs, err := s.Runs(ctx)
	if err != nil {
		return r, false, err
	}
	scanned := false // a complete scan came before
	for _, run := range runs {
		if run.Mode != "scan" || !run.Complete {
			continue
		}
		if run.Full || !scanned {
			r, ok = run, true
		}
		scanned = true
	}
	return r, ok, nil
}

// errReasonFound ends an edge scan at the first child that decides.
var errReasonFound = errors.New("stop")

// DanglingReasons says what the database knows of each of the dangling
// parents ids (see graph.DanglingReason): graph.LookupFailed when the Hub
// answered 401 or 404 to a lookup, graph.NotListedByScan when a model a
// complete scan stored names it, graph.NotLookedUp otherwise. Its cost is a
// point read per id, and with complete scans in the database a few more
// per id (stopping at the first child a scan stored). When ctx ends it stops
// and returns ctx's error.
func (s *Store) DanglingReasons(ctx context.Context, ids []graph.ModelID) (map[graph.ModelID]graph.DanglingReason, error) {
	runs, err := s.Runs(ctx)
	if err != nil {
		return nil, err
	}
	scans := map[uint64]bool{} // complete scans
	for _, r := range runs {
		if r.Mode == "scan" && r.Complete {
			scans[r.ID] = true
		}
	}
	out := make(map[graph.ModelID]graph.DanglingReason, len(ids))
	err = s.View(ctx, func(rd *Reader) error {
		for _, id := range ids {
			if err := rd.step(); err != nil {
				return err
			}
			var m Missing
			if ok, err := getMissing(rd.txn, string(id), &m); err != nil {
				return err
			} else if ok {
				out[id] = graph.LookupFailed
				continue
			}
			out[id] = graph.NotLookedUp
			if len(scans) == 0 {
				continue
			}
			err := rd.ChildEdges(id, func(e graph.Edge) error {
				run, err := recordRun(rd.txn, e.Child)
				if err != nil {
					return err
				}
				if scans[run] {
					out[id] = graph.NotListedByScan
					return errReasonFound
				}
				return nil
			})
			if err != nil && !errors.Is(err, errReasonFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// recordRun returns the run that last stored id (0 when none, or when id
// has no record), reading only the head of its record.
func recordRun(txn *badger.Txn, id graph.ModelID) (uint64, error) {
	item, err := txn.Get(modelKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var run uint64
	err = item.Value(func(v []byte) error {
		if len(v) < 3 || !recordVersionOK(v[0]) {
			return fmt.Errorf("%w: model record %s: %v (version %d)", ErrCorrupt, id, errRecord, firstByte(v))
		}
		var n int
		if run, n = binary.Uvarint(v[2:]); n <= 0 {
			return fmt.Errorf("%w: model record %s: %v", ErrCorrupt, id, errRecord)
		}
		return nil
	})
	return run, err
}
