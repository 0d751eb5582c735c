package crawler

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

// TestDecodeDownloadsAllTime: downloadsAllTime is kept when the Hub gives
// it (0 included), and an answer without it (or with null) leaves it
// unknown, never 0; on a single model and on a listing alike.
func TestDecodeDownloadsAllTime(t *testing.T) {
	tests := []struct {
		name string
		body string
		want graph.OptionalCount
	}{
		{"given", `{"id":"a/b","downloads":5,"downloadsAllTime":1234567890123}`, graph.CountOf(1234567890123)},
		{"zero", `{"id":"a/b","downloads":0,"downloadsAllTime":0}`, graph.CountOf(0)},
		{"absent", `{"id":"a/b","downloads":5}`, graph.OptionalCount{}},
		{"null", `{"id":"a/b","downloads":5,"downloadsAllTime":null}`, graph.OptionalCount{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeModel([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if m.DownloadsAllTime != tt.want {
				t.Errorf("model: %+v, want %+v", m.DownloadsAllTime, tt.want)
			}
			ms, err := DecodeModelList([]byte("[" + tt.body + "]"))
			if err != nil {
				t.Fatal(err)
			}
			if ms[0].DownloadsAllTime != tt.want {
				t.Errorf("listing: %+v, want %+v", ms[0].DownloadsAllTime, tt.want)
			}
		})
	}
	if _, err := DecodeModel([]byte(`{"id":"a/b","downloadsAllTime":"many"}`)); err == nil {
		t.Error("a downloadsAllTime that is not a number was accepted")
	}

	// The recorded answer (no expand[]) has no downloadsAllTime.
	body, err := os.ReadFile(filepath.Join("testdata", "llama-3.1-8b-instruct.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeModel(body)
	if err != nil {
		t.Fatal(err)
	}
	if m.DownloadsAllTime.Known || m.Downloads == 0 {
		t.Errorf("recorded model: downloads %d, all-time %+v; want downloads, all-time unknown", m.Downloads, m.DownloadsAllTime)
	}
}

// TestExpandAsksAllTime: the model and listing requests ask for
// downloadsAllTime, which both endpoints accept (hub-api.md).
func TestExpandAsksAllTime(t *testing.T) {
	if !slices.Contains(expandFields, "downloadsAllTime") {
		t.Errorf("expand[] = %v, without downloadsAllTime", expandFields)
	}
}
