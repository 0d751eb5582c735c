package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/hflineage/hflineage/graph"
)

// oldRecord is a model record as every hflineage before all-time downloads
// wrote it (version 1), byte for byte: run 5, downloads 100, likes 3, no
// dates, id a/b, author a, library transformers, license mit, tag t, parent
// c by merge.
var oldRecord = []byte{1, 0, 5, 200, 1, 6, 0, 0,
	3, 'a', '/', 'b', 1, 'a', 12, 't', 'r', 'a', 'n', 's', 'f', 'o', 'r', 'm', 'e', 'r', 's', 0, 0, 3, 'm', 'i', 't',
	1, 1, 't', 1, 1, 'c', 5, 'm', 'e', 'r', 'g', 'e'}

// TestOldRecordReadsAllTimeUnknown: a version-1 record reads whole, its
// all-time downloads unknown (not 0), and is written back as it was; a
// known count, 0 included, round-trips as version 2.
func TestOldRecordReadsAllTimeUnknown(t *testing.T) {
	var got record
	if err := decodeRecord(oldRecord, &got, false); err != nil {
		t.Fatalf("an old record does not read: %v", err)
	}
	want := record{Model: graph.Model{ID: "a/b", Author: "a", Downloads: 100, Likes: 3, LibraryName: "transformers",
		License: "mit", Tags: []string{"t"}}, Parents: []graph.Parent{{ID: "c", Relation: "merge"}}, Run: 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("old record:\n got %+v\nwant %+v", got, want)
	}
	if got.DownloadsAllTime.Known {
		t.Errorf("an old record's all-time downloads read as known (%d)", got.DownloadsAllTime.N)
	}
	if b := encodeRecord(&got); string(b) != string(oldRecord) {
		t.Errorf("written back as %v, want the old bytes %v", b, oldRecord)
	}

	for _, n := range []int64{0, 1, 1 << 40} {
		r := want
		r.DownloadsAllTime = graph.CountOf(n)
		b := encodeRecord(&r)
		if b[0] != recordV2 {
			t.Errorf("all-time %d: version %d, want %d", n, b[0], recordV2)
		}
		var back record
		if err := decodeRecord(b, &back, false); err != nil || !reflect.DeepEqual(back, r) {
			t.Errorf("all-time %d: read back %+v (%v), want %+v", n, back, err, r)
		}
		if err := decodeRecord(b, &back, true); err != nil || back.DownloadsAllTime != graph.CountOf(n) {
			t.Errorf("all-time %d without tags: %+v (%v)", n, back.DownloadsAllTime, err)
		}
	}
	if err := decodeRecord(append([]byte{3}, oldRecord[1:]...), &got, false); err == nil {
		t.Error("a record of version 3 read without error")
	}
}

// TestOldDatabasePopularity: in a database whose records are all of
// version 1, count's all-time sum is unknown and every derivative is
// counted as lacking one; a derivative written since (version 2) is summed.
func TestOldDatabasePopularity(t *testing.T) {
	ctx := context.Background()
	s := memStore(t)
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutModel(graph.Model{ID: "c", Downloads: 1}, nil); err != nil {
			return err
		}
		return tx.PutModel(graph.Model{ID: "a/b", Downloads: 100, Likes: 3}, []graph.Parent{{ID: "c", Relation: "merge"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	// What an old hflineage wrote, in place of the new record.
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(modelKey("a/b"), oldRecord) }); err != nil {
		t.Fatal(err)
	}
	_, p, err := s.FamilyPopularity(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if want := (graph.Popularity{Downloads: 100, MembersWithoutAllTime: 1, Likes: 3}); p != want {
		t.Errorf("old database: %+v, want %+v", p, want)
	}
	err = s.Update(func(tx *Tx) error {
		return tx.PutModel(graph.Model{ID: "x/y", Downloads: 5, DownloadsAllTime: graph.CountOf(40)}, []graph.Parent{{ID: "a/b", Relation: "finetune"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, p, err = s.FamilyPopularity(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if want := (graph.Popularity{Downloads: 105, DownloadsAllTime: graph.CountOf(40), MembersWithoutAllTime: 1, Likes: 3}); p != want {
		t.Errorf("after a new record: %+v, want %+v", p, want)
	}
	var m graph.Model
	if err := s.View(ctx, func(r *Reader) error { m, err = r.Model("a/b"); return err }); err != nil {
		t.Fatal(err)
	}
	if m.DownloadsAllTime.Known || m.Downloads != 100 {
		t.Errorf("the old record reads as %+v", m)
	}
}

// TestLargeFamilyPopularity: a family too large to follow edge by edge is
// summed from graph.bin when it is current, else from the records, and
// both give the exact sums.
func TestLargeFamilyPopularity(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = seekBudget + 500
	var want graph.Popularity
	for start := 0; start < n; start += 1000 {
		err := s.Update(func(tx *Tx) error {
			for i := start; i < min(n, start+1000); i++ {
				m := graph.Model{ID: graph.ModelID(fmt.Sprintf("c%d/m", i)), Downloads: int64(i), Likes: int64(i % 3)}
				if i%2 == 0 {
					m.DownloadsAllTime = graph.CountOf(int64(10 * i))
				}
				info := graph.NodeInfoOf(&m)
				want.Add(&info)
				if err := tx.PutModel(m, []graph.Parent{{ID: "r/base", Relation: "finetune"}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, small, err := s.smallFamily(ctx, "r/base", -1); err != nil || small {
		t.Fatalf("the family is small (%v): the test needs a large one", err)
	}
	check := func(how string) {
		t.Helper()
		c, p, err := s.FamilyPopularity(ctx, "r/base")
		if err != nil {
			t.Fatal(err)
		}
		if c.Descendants.Total != n || p != want {
			t.Errorf("%s: %d descendants, %+v; want %d, %+v", how, c.Descendants.Total, p, n, want)
		}
	}
	check("from the records")
	if err := s.RefreshCaches(ctx, true); err != nil {
		t.Fatal(err)
	}
	if tbl, release, err := s.NodeTable(ctx); err != nil || tbl == nil {
		t.Fatalf("graph.bin is not current after RefreshCaches (%v)", err)
	} else {
		release()
	}
	check("from graph.bin")
	ids := make([]graph.ModelID, 0, n)
	for i := range n {
		ids = append(ids, graph.ModelID(fmt.Sprintf("c%d/m", i)))
	}
	slices.Sort(ids)
	for _, merge := range []bool{true, false} {
		p, ok, err := s.tablePopularity(ctx, ids, &merge)
		if err != nil || !ok || p != want {
			t.Errorf("graph.bin, merge %v: %+v (ok %v, %v); want %+v", merge, p, ok, err, want)
		}
	}
}
