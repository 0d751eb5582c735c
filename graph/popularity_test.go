package graph

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestModelAllTimeJSON: a model's all-time downloads are a number when
// known (0 included) and left out when unknown, and read back the same.
func TestModelAllTimeJSON(t *testing.T) {
	tests := []struct {
		name string
		c    OptionalCount
		want string // in the JSON; "" for no key at all
	}{
		{"known", CountOf(42), `"downloadsAllTime":42`},
		{"known 0", CountOf(0), `"downloadsAllTime":0`},
		{"unknown", OptionalCount{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(Model{ID: "a/b", Downloads: 1, DownloadsAllTime: tt.c})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && strings.Contains(string(b), "downloadsAllTime") || !strings.Contains(string(b), tt.want) {
				t.Errorf("%s, want %s", b, tt.want)
			}
			var m Model
			if err := json.Unmarshal(b, &m); err != nil || m.DownloadsAllTime != tt.c {
				t.Errorf("%s read back as %+v (%v)", b, m.DownloadsAllTime, err)
			}
		})
	}
	var c OptionalCount
	if err := json.Unmarshal([]byte(`"x"`), &c); err == nil {
		t.Error("a string read as a count")
	}
}

// TestPopularityAdd: sums saturate, members without all-time downloads
// are counted, and the all-time sum is unknown until one member has one.
func TestPopularityAdd(t *testing.T) {
	tests := []struct {
		name    string
		members []NodeInfo
		want    Popularity
	}{
		{"none", nil, Popularity{}},
		{"all known", []NodeInfo{{Downloads: 1, Likes: 2, DownloadsAllTime: 10, HasDownloadsAllTime: true},
			{Downloads: 3, DownloadsAllTime: 0, HasDownloadsAllTime: true}},
			Popularity{Downloads: 4, Likes: 2, DownloadsAllTime: CountOf(10)}},
		{"some unknown", []NodeInfo{{Downloads: 1}, {Downloads: 3, DownloadsAllTime: 7, HasDownloadsAllTime: true}, {Stub: true}},
			Popularity{Downloads: 4, DownloadsAllTime: CountOf(7), MembersWithoutAllTime: 2}},
		{"all unknown", []NodeInfo{{Downloads: 1, Likes: 1}, {Downloads: 2}},
			Popularity{Downloads: 3, Likes: 1, MembersWithoutAllTime: 2}},
		{"saturating", []NodeInfo{
			{Downloads: math.MaxInt64 - 1, Likes: math.MaxInt64, DownloadsAllTime: math.MaxInt64, HasDownloadsAllTime: true},
			{Downloads: 5, Likes: 5, DownloadsAllTime: 5, HasDownloadsAllTime: true}},
			Popularity{Downloads: math.MaxInt64, Likes: math.MaxInt64, DownloadsAllTime: CountOf(math.MaxInt64)}},
		{"negative ignored", []NodeInfo{{Downloads: -5, Likes: -1, DownloadsAllTime: -9, HasDownloadsAllTime: true}},
			Popularity{DownloadsAllTime: CountOf(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Popularity
			for i := range tt.members {
				p.Add(&tt.members[i])
			}
			if p != tt.want {
				t.Errorf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

// TestCSRKeepsAllTime: the graph cache's node records keep the all-time
// downloads, known or not, through both encoders.
func TestCSRKeepsAllTime(t *testing.T) {
	models := []Model{
		{ID: "a/known", Downloads: 3, DownloadsAllTime: CountOf(1 << 50), Likes: 1},
		{ID: "b/zero", DownloadsAllTime: CountOf(0)},
		{ID: "c/unknown", Downloads: 9},
		{ID: "d/stub", Stub: true},
	}
	b := NewGraphBuilder(len(models))
	w := NewCSRWriter(true)
	for i := range models {
		b.Node(models[i].ID, &models[i])
		info := NodeInfoOf(&models[i])
		if err := w.Node([]byte(models[i].ID), &info); err != nil {
			t.Fatal(err)
		}
	}
	built, err := w.Graph()
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*Graph{"builder": b.Graph(), "writer": built} {
		raw, err := g.MarshalCSR(1)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := UnmarshalCSR(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range models {
			i, ok := back.Index(m.ID)
			if !ok {
				t.Fatalf("%s: %s lost", name, m.ID)
			}
			if got := back.Nodes[i]; got != NodeInfoOf(&m) {
				t.Errorf("%s: %s read back as %+v, want %+v", name, m.ID, got, NodeInfoOf(&m))
			}
			if got := back.Model(i).DownloadsAllTime; got != m.DownloadsAllTime {
				t.Errorf("%s: %s's all-time %+v, want %+v", name, m.ID, got, m.DownloadsAllTime)
			}
		}
	}

	// Node records without the all-time downloads (HFLCSR3) are refused;
	// a graph without node attributes keeps HFLCSR3 (edges.csr written
	// before stays valid).
	raw, err := built.MarshalCSR(7)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "HFLCSR4\n") {
		t.Fatalf("a graph with node attributes begins %q", raw[:8])
	}
	old := append([]byte("HFLCSR3\n"), raw[8:]...)
	if _, _, err := UnmarshalCSR(old); err == nil {
		t.Error("HFLCSR3 node records were read")
	}
	if _, _, err := NewNodeTable(old); err == nil {
		t.Error("HFLCSR3 node records were read as a table")
	}
	if tag, ok := CSRTag(old); !ok || tag != 7 {
		t.Errorf("CSRTag of an HFLCSR3 file: %d, %v", tag, ok)
	}
	edges := NewGraphBuilder(2)
	if err := edges.Edge(Edge{Parent: "a/b", Child: "c/d", Relation: Finetune}); err != nil {
		t.Fatal(err)
	}
	raw, err = edges.Graph().MarshalCSR(9)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "HFLCSR3\n") {
		t.Errorf("a graph without node attributes begins %q", raw[:8])
	}
	if g, tag, err := UnmarshalCSR(raw); err != nil || tag != 9 || g.EdgeCount() != 1 {
		t.Errorf("an edge graph read back: %v, tag %d", err, tag)
	}
	w = NewCSRWriter(false)
	for _, id := range []string{"a/b", "c/d"} {
		if err := w.Node([]byte(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	var buf strings.Builder
	if err := w.WriteTo(&buf, 3); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "HFLCSR3\n") {
		t.Errorf("CSRWriter without nodes begins %q", buf.String()[:8])
	}
}
