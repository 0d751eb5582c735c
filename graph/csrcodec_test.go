package graph

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"
)

// TestCSRWriter checks that a graph written from sorted scans decodes to
// the graph a builder makes of the same nodes and edges, sorted and found
// by bisection, and that out-of-order input is refused.
func TestCSRWriter(t *testing.T) {
	ids := []ModelID{"a", "a/b", "b", "c", "d"}
	es := edges("a>finetune>b a>adapter>b a>finetune>c b>weird>c c>merge>a d>quantized>d")
	sortEdges(es)
	b := NewGraphBuilder(len(ids))
	w := NewCSRWriter(true)
	for i, id := range ids {
		m := Model{ID: id, Author: "org", License: []string{"mit", ""}[i%2], Downloads: int64(i * 10), Likes: int64(i), Stub: id == "a/b"}
		b.Node(id, &m)
		n := NodeInfoOf(&m)
		if err := w.Node([]byte(id), &n); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range es {
		b.Edge(e)
		if err := w.Edge([]byte(e.Parent), []byte(e.Child), []byte(e.Relation)); err != nil {
			t.Fatal(err)
		}
	}
	want := b.Graph()
	var buf bytes.Buffer
	if err := w.WriteTo(&buf, 9); err != nil {
		t.Fatal(err)
	}
	if tag, ok := CSRTag(buf.Bytes()); !ok || tag != 9 {
		t.Errorf("CSRTag = %d, %v", tag, ok)
	}
	got, tag, err := UnmarshalCSR(buf.Bytes())
	if err != nil || tag != 9 || !got.Sorted() {
		t.Fatalf("decode: tag %d, %v", tag, err)
	}
	direct, err := w.Graph()
	if err != nil || !direct.Sorted() || !slices.Equal(direct.ids, got.ids) || !slices.Equal(direct.off, got.off) ||
		!slices.Equal(direct.dst, got.dst) || !slices.Equal(direct.rel, got.rel) || !slices.Equal(direct.Nodes, got.Nodes) {
		t.Errorf("CSRWriter.Graph differs from the decoded graph (%v)", err)
	}
	var ge, we []Edge
	got.Edges(func(e Edge) { ge = append(ge, e) })
	want.Edges(func(e Edge) { we = append(we, e) })
	if !slices.Equal(ge, we) {
		t.Errorf("edges %v, want %v", ge, we)
	}
	for i, id := range ids {
		j, ok := got.Index(id)
		if !ok || j != i || got.Nodes[j] != want.Nodes[i] {
			t.Errorf("%s: node %d (%v) %+v, want %+v", id, j, ok, got.Model(j), want.Model(i))
		}
		if got.NewWalker().Count(j, nil) != want.NewWalker().Count(i, nil) {
			t.Errorf("%s: counts differ", id)
		}
	}
	for _, id := range ids {
		for _, depth := range []int{-1, 0, 1, 2} {
			f, err := got.Family(context.Background(), id, depth)
			if err != nil {
				t.Fatal(err)
			}
			wf, _ := LoadFamily(context.Background(), want, id, depth)
			if !slices.Equal(f.Members, wf.Members) || !slices.Equal(f.Edges, wf.Edges) || !slices.Equal(f.SortedMembers(), wf.SortedMembers()) ||
				f.Count() != wf.Count() || !maps.Equal(f.Depth, wf.Depth) {
				t.Errorf("family of %s to depth %d:\n got %v %v\nwant %v %v", id, depth, f.Members, f.Edges, wf.Members, wf.Edges)
			}
		}
	}
	nt, tag, err := NewNodeTable(buf.Bytes())
	if err != nil || tag != 9 || nt.Len() != len(ids) {
		t.Fatalf("node table: tag %d, %v", tag, err)
	}
	for i, id := range ids {
		if n, ok := nt.Find(id); !ok || n != want.Nodes[i] {
			t.Errorf("node table: %s is %+v (%v), want %+v", id, n, ok, want.Nodes[i])
		}
	}
	for _, id := range []ModelID{"", "0", "a/c", "zz"} {
		if _, ok := nt.Find(id); ok {
			t.Errorf("node table: %q found", id)
		}
	}
	for cut := 0; cut < buf.Len(); cut += 5 {
		if _, _, err := NewNodeTable(buf.Bytes()[:cut]); err == nil {
			t.Errorf("node table: truncated at %d accepted", cut)
		}
	}
	if _, ok := got.Index("a/c"); ok {
		t.Error("a/c found")
	}
	// The in-memory graph, sorted too, is marked so by MarshalCSR.
	raw, _ := want.MarshalCSR(1)
	if h, _, err := UnmarshalCSR(raw); err != nil || !h.Sorted() {
		t.Errorf("MarshalCSR of sorted ids: sorted %v, %v", h != nil && h.Sorted(), err)
	}

	for _, tc := range []struct {
		name  string
		nodes []string
		edges [][3]string
	}{
		{"node out of order", []string{"b", "a"}, nil},
		{"repeated node", []string{"a", "a"}, nil},
		{"unknown child", []string{"a", "b"}, [][3]string{{"a", "c", "finetune"}}},
		{"unknown parent", []string{"a", "b"}, [][3]string{{"x", "a", "finetune"}}},
		{"parents out of order", []string{"a", "b"}, [][3]string{{"b", "a", "finetune"}, {"a", "b", "finetune"}}},
	} {
		w := NewCSRWriter(false)
		var err error
		for _, n := range tc.nodes {
			if err = w.Node([]byte(n), nil); err != nil {
				break
			}
		}
		for _, e := range tc.edges {
			if err != nil {
				break
			}
			err = w.Edge([]byte(e[0]), []byte(e[1]), []byte(e[2]))
		}
		if err == nil || w.WriteTo(&bytes.Buffer{}, 0) == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func FuzzNodeTable(f *testing.F) {
	w := NewCSRWriter(true)
	w.Node([]byte("a"), &NodeInfo{Author: "x", Downloads: 3})
	w.Node([]byte("b"), nil)
	w.Edge([]byte("a"), []byte("b"), []byte("finetune"))
	var buf bytes.Buffer
	w.WriteTo(&buf, 1)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		nt, _, err := NewNodeTable(data)
		if err != nil {
			return
		}
		for _, id := range []ModelID{"a", "b", "c", ""} {
			nt.Find(id) // must not panic on any accepted input
		}
	})
}
