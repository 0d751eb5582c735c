package store

import (
	"testing"
	"time"
)

func TestLastScanAndPageSize(t *testing.T) {
	s := memStore(t)
	if _, ok, err := s.LastScan(); ok || err != nil {
		t.Fatalf("LastScan of a new database: ok %v, err %v", ok, err)
	}
	if n, err := s.MaxPageSize(); n != 0 || err != nil {
		t.Fatalf("MaxPageSize of a new database: %d, %v", n, err)
	}
	want := LastScan{Run: 3, Watermark: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Models: 42, Finished: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)}
	err := s.Update(func(tx *Tx) error {
		if err := tx.SetLastScan(want); err != nil {
			return err
		}
		return tx.SetMaxPageSize(500)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.LastScan(); !ok || err != nil || got != want {
		t.Errorf("LastScan = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if n, err := s.MaxPageSize(); n != 500 || err != nil {
		t.Errorf("MaxPageSize = %d, %v; want 500", n, err)
	}
	// The record keeps the JSON that earlier versions wrote.
	var raw map[string]any
	if _, err := s.getMeta(metaLastScan, &raw); err != nil || raw["models"] != float64(42) || raw["run"] != float64(3) {
		t.Errorf("lastscan record = %v, %v", raw, err)
	}
}
