package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// dump returns every key and value in the database but the run records
// (they differ in their Bulk flag and times) and the versions of caches.
func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if bytes.HasPrefix(k, pRun) {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(k)] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bulkPages are listing pages that exercise what the bulk path must get
// right without reading: a parent stored before its child names it and one
// named before it is listed (a stub, then replaced), a popular parent named
// across pages, a model listed twice with other parents the second time
// (the Hub's listing shifted), ids in mixed case (aliases) and two ids equal
// but for case, a self-loop, and a dangling parent.
func bulkPages() [][]graph.Model {
	m := func(id string, tags ...string) graph.Model {
		return graph.Model{ID: graph.ModelID(id), Author: graph.ModelID(id).Author(), Downloads: int64(len(id)), Tags: tags}
	}
	return [][]graph.Model{
		{m("org/Base"), m("u/ft-1", "base_model:org/Base"), m("u/q-1", "base_model:quantized:u/Later"),
			m("u/self", "base_model:u/self"), m("u/dangling-child", "base_model:gone/Parent")},
		{m("u/Later", "base_model:org/Base"), m("U/LATER"), m("u/ft-2", "base_model:org/Base", "base_model:merge:u/Later", "base_model:merge:org/Base")},
		{m("u/ft-1", "base_model:adapter:u/Later"), m("u/ft-3", "base_model:org/Base", "base_model:gone/Parent"), m("org/Base")},
	}
}

// TestBulkWritesWhatTheDiffingPathWrites stores the same pages through a
// bulk run and through the diffing path: every key and value must agree,
// and so must the run's counts; the bulk run's index is also dropped and
// rebuilt between pages, as a resumed crawl rebuilds it, and a page that
// fails (once, at its end) leaves nothing of it behind, in the index neither.
func TestBulkWritesWhatTheDiffingPathWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resume bool // forget the index after each page (a new process)
		fail   bool // each page fails once, at its end
	}{{"straight", false, false}, {"resumed", true, false}, {"failed-page", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ingest := func(bulk bool) (*Store, *Run) {
				s := memStore(t)
				run, err := s.NewRun("scan", false, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !run.Bulk {
					t.Fatal("a scan into an empty database is not a bulk run")
				}
				run.Bulk = bulk
				for _, page := range bulkPages() {
					if tc.fail && bulk {
						boom := errors.New("boom")
						err := s.UpdateRun(run, func(tx *Tx) error {
							for _, m := range page {
								if _, _, err := tx.PutCrawled(m, graph.ParentsFromTags(m.Tags)); err != nil {
									return err
								}
							}
							return boom
						})
						if !errors.Is(err, boom) {
							t.Fatalf("failed page: %v", err)
						}
					}
					err := s.UpdateRun(run, func(tx *Tx) error {
						for _, m := range page {
							if _, _, err := tx.PutCrawled(m, graph.ParentsFromTags(m.Tags)); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if tc.resume && bulk {
						s.bulk.idx = nil
					}
				}
				return s, run
			}
			diffing, drun := ingest(false)
			bulk, brun := ingest(true)
			want, got := dump(t, diffing), dump(t, bulk)
			for k, v := range want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("key %q: bulk has %q (%v), diffing path %q", k, g, ok, v)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("key %q written by the bulk path only", k)
				}
			}
			if brun.ModelsAdded != drun.ModelsAdded || brun.EdgesAdded != drun.EdgesAdded || brun.EdgesRemoved != drun.EdgesRemoved {
				t.Errorf("bulk run counts %d models, %d edges added, %d removed; diffing %d, %d, %d",
					brun.ModelsAdded, brun.EdgesAdded, brun.EdgesRemoved, drun.ModelsAdded, drun.EdgesAdded, drun.EdgesRemoved)
			}
		})
	}
}

// TestBulkOnlyIntoAnEmptyDatabase: only a scan, only into a database with
// neither models nor runs, is a bulk run; finishing it drops the index.
func TestBulkOnlyIntoAnEmptyDatabase(t *testing.T) {
	s := memStore(t)
	if r, _ := s.NewRun("walk", false, []string{"a/b"}); r.Bulk {
		t.Error("a walk is a bulk run")
	}
	if r, _ := s.NewRun("scan", false, nil); r.Bulk {
		t.Error("a scan after another run is a bulk run")
	}
	s = memStore(t)
	r, _ := s.NewRun("scan", false, nil)
	if !r.Bulk || r.LogChanges {
		t.Fatalf("first scan: bulk %v, log changes %v", r.Bulk, r.LogChanges)
	}
	for i := range 3 {
		err := s.UpdateRun(r, func(tx *Tx) error {
			return tx.PutModel(graph.Model{ID: graph.ModelID(fmt.Sprintf("u/M-%d", i))}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.bulk.idx == nil {
		t.Error("no index during the bulk run")
	}
	if err := s.UpdateRun(r, func(tx *Tx) error { tx.Run().Complete = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if s.bulk.idx != nil {
		t.Error("the index outlived the run")
	}
	if r2, _ := s.NewRun("scan", false, nil); r2.Bulk {
		t.Error("a second scan is a bulk run")
	}
	// A run changed nothing of the graph's meaning: the models are there.
	for i := range 3 {
		if _, err := s.Lookup(fmt.Sprintf("u/m-%d", i)); err != nil {
			t.Error(err)
		}
	}
}

func TestBloom(t *testing.T) {
	const first = 10000
	b := newBloom(first)
	n := first + first/2
	key := func(i int) []byte { return fmt.Appendf(nil, "m\x00org-%d/Model-%d", i%977, i) }
	for i := 0; i < n; i += 2 {
		b.add(key(i))
	}
	for i := n; i < 3*n; i += 2 {
		b.add(key(i))
	}
	if len(b.layers) != 2 { // room for 10,000, then 20,000 keys
		t.Errorf("%d keys in %d layer(s)", 3*n/2, len(b.layers))
	}
	fp := 0
	for i := 0; i < 3*n; i++ {
		has := b.mayHave(key(i))
		if i%2 == 0 && !has {
			t.Fatalf("key %d added but not found", i)
		}
		if i%2 == 1 && has {
			fp++
		}
	}
	if rate := float64(fp) / float64(3*n/2); rate > 0.03 {
		t.Errorf("false positive rate %.3f, want about 0.01", rate)
	}
}
