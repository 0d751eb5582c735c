package graph

import (
	"bytes"
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
