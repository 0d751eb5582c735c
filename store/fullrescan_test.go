package store

import (
	"context"
	"testing"
)

// LastListing is the latest complete scan that listed the whole Hub: a
// --full one, or one no complete scan preceded; not an incremental scan,
// a walk, or a scan that did not complete.
func TestLastListing(t *testing.T) {
	type run struct {
		mode           string
		full, complete bool
	}
	tests := []struct {
		name   string
		runs   []run
		want   uint64
		wantOK bool
	}{
		{"none", nil, 0, false},
		{"walks only", []run{{"walk", false, true}}, 0, false},
		{"an unfinished first scan", []run{{"scan", false, false}}, 0, false},
		{"first scan, then incremental ones", []run{{"walk", false, true}, {"scan", false, true}, {"scan", false, true}, {"scan", false, true}}, 2, true},
		{"a first scan that did not complete, then one that did", []run{{"scan", false, false}, {"scan", false, true}, {"scan", false, true}}, 2, true},
		{"a full one later", []run{{"scan", false, true}, {"scan", false, true}, {"scan", true, true}, {"scan", false, true}, {"walk", false, true}}, 3, true},
		{"a full one that did not complete", []run{{"scan", false, true}, {"scan", true, false}, {"scan", false, true}}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := memStore(t)
			for _, r := range tt.runs {
				run, err := s.NewRun(r.mode, r.full, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.UpdateRun(run, func(tx *Tx) error { tx.Run().Complete = r.complete; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := s.LastListing(context.Background())
			if err != nil || ok != tt.wantOK || got.ID != tt.want {
				t.Errorf("LastListing = run %d, %v, %v; want run %d, %v", got.ID, ok, err, tt.want, tt.wantOK)
			}
		})
	}
}
