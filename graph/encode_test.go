package graph

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testModel is the record of each member of testFamily.
func testModel(id ModelID) Model {
	models := map[ModelID]Model{
		"meta-llama/Llama-3.1-8B": {ID: "meta-llama/Llama-3.1-8B", Author: "meta-llama", Downloads: 1000, Likes: 10, License: "llama3.1",
			DownloadsAllTime: CountOf(250000), CreatedAt: time.Date(2024, 7, 18, 8, 56, 0, 0, time.UTC), LibraryName: "transformers", PipelineTag: "text-generation"},
		"a/ft":      {ID: "a/ft", Downloads: 5, DownloadsAllTime: CountOf(0), License: "apache-2.0", CreatedAt: time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)},
		"q/ft-GGUF": {ID: "q/ft-GGUF", License: "apache-2.0", LibraryName: "gguf"},
		"w/x":       {ID: "w/x", Stub: true},
		"b/lora":    {ID: "b/lora", License: `odd "license" <&>`},
	}
	if m, ok := models[id]; ok {
		return m
	}
	return Model{ID: id}
}

func encodeTestFamily(t *testing.T, enc func(*bytes.Buffer) Encoder) []byte {
	t.Helper()
	f, _ := testFamily(t)
	var buf bytes.Buffer
	if err := WriteFamily(context.Background(), enc(&buf), f, modelsFunc(testModel), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGraphMLGolden(t *testing.T) {
	out := encodeTestFamily(t, func(b *bytes.Buffer) Encoder { return NewGraphMLEncoder(b) })
	golden(t, "family.graphml", out)
	var doc struct {
		Nodes []struct {
			ID string `xml:"id,attr"`
		} `xml:"graph>node"`
		Edges []struct {
			Source string `xml:"source,attr"`
		} `xml:"graph>edge"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(doc.Nodes) != 6 || len(doc.Edges) != 6 {
		t.Errorf("%d nodes, %d edges; want 6, 6", len(doc.Nodes), len(doc.Edges))
	}
}

func TestNodeLinkGolden(t *testing.T) {
	out := encodeTestFamily(t, func(b *bytes.Buffer) Encoder { return NewNodeLinkEncoder(b) })
	golden(t, "family.json", out)
	var doc struct {
		Directed, Multigraph bool
		Nodes                []map[string]any
		Links                []map[string]any
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if !doc.Directed || !doc.Multigraph || len(doc.Nodes) != 6 || len(doc.Links) != 6 {
		t.Errorf("%+v", doc)
	}
	var empty bytes.Buffer
	e := NewNodeLinkEncoder(&empty)
	e.Close()
	if err := json.Unmarshal(empty.Bytes(), &doc); err != nil {
		t.Errorf("empty graph: %v: %s", err, empty.Bytes())
	}
}

func TestCSVGoldenAndRoundTrip(t *testing.T) {
	edges := encodeTestFamily(t, func(b *bytes.Buffer) Encoder { return NewCSVEncoder(b) })
	golden(t, "family.csv", edges)
	// Looking the endpoints up row by row writes the same bytes.
	var lookups int
	looked := encodeTestFamily(t, func(b *bytes.Buffer) Encoder {
		e := NewCSVEncoder(b)
		e.Lookup = func(id ModelID) (Model, error) { lookups++; return testModel(id), nil }
		return e
	})
	if !bytes.Equal(looked, edges) || lookups == 0 {
		t.Errorf("with Lookup (%d lookups):\n%s\nwant\n%s", lookups, looked, edges)
	}
	failing := NewCSVEncoder(&bytes.Buffer{})
	failing.Lookup = func(ModelID) (Model, error) { return Model{}, errors.New("damaged") }
	failing.Edge(Edge{"a", "b", Finetune})
	if err := failing.Close(); err == nil || err.Error() != "damaged" {
		t.Errorf("a lookup error: Close gave %v", err)
	}
	nodes := encodeTestFamily(t, func(b *bytes.Buffer) Encoder { return NewCSVNodesEncoder(b) })
	golden(t, "family-nodes.csv", nodes)
	rows, err := csv.NewReader(bytes.NewReader(edges)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := testFamily(t)
	if len(rows) != len(f.Edges)+1 {
		t.Fatalf("%d rows for %d edges", len(rows), len(f.Edges))
	}
	for i, e := range f.Edges {
		r := rows[i+1]
		if r[0] != string(e.Parent) || r[1] != string(e.Relation) || r[2] != string(e.Child) {
			t.Errorf("row %d = %v, want %v", i+1, r[:3], e)
		}
	}
	nrows, err := csv.NewReader(bytes.NewReader(nodes)).ReadAll()
	if err != nil || len(nrows) != len(f.Members)+1 {
		t.Errorf("node table: %d rows, %v", len(nrows), err)
	}
}

func TestDOTClusters(t *testing.T) {
	out := encodeTestFamily(t, func(b *bytes.Buffer) Encoder {
		e := NewDOTEncoder(b, "clusters", "meta-llama/Llama-3.1-8B")
		e.ClusterOf = func(m Model) string { return m.ID.Author() }
		return e
	})
	golden(t, "family-clusters.dot", out)
	renderDOT(t, out)
}

// TestDOTLinesAsFormatted checks the DOT encoder's node and edge lines,
// written piece by piece, against the same lines formatted with fmt from
// QuoteDOT and QuoteDOTLabel, for ids that need escaping and ids that do not.
func TestDOTLinesAsFormatted(t *testing.T) {
	ids := []ModelID{"org/plain-1.0", `we"ird\id`, "line\nbreak", "ünï/cödé", "tab\there", "del\x7f", "bad\xffutf8", "org/a&b", "org/&amp;", `org/\N`}
	for _, id := range ids {
		for _, m := range []Model{{ID: id}, {ID: id, Downloads: 12, Likes: 3}, {ID: id, Likes: 1, Stub: true}, {ID: id, Stub: true}} {
			for _, root := range []ModelID{"", id} {
				var buf bytes.Buffer
				e := NewDOTEncoder(&buf, "g", root)
				e.Node(m)
				e.Edge(Edge{Parent: id, Child: "c/d", Relation: Merge})
				e.Edge(Edge{Parent: "c/d", Child: id, Relation: "we\"ird"})
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				attrs := []string{"label=" + QuoteDOTLabel(string(m.ID))}
				switch {
				case m.Downloads == 0 && m.Likes == 0:
				case strings.Contains(string(m.ID), `\`):
					attrs = append(attrs, "tooltip="+QuoteDOTLabel(fmt.Sprintf("downloads: %d\nlikes: %d", m.Downloads, m.Likes)))
				default:
					attrs = append(attrs, "tooltip="+QuoteDOTLabel(fmt.Sprintf("%s\ndownloads: %d\nlikes: %d", m.ID, m.Downloads, m.Likes)))
				}
				switch {
				case m.ID == root:
					attrs = append(attrs, `style="rounded,filled,bold"`, `fillcolor="#ffe08a"`)
				case m.Stub:
					attrs = append(attrs, `style="rounded,dashed"`, `color="grey50"`, `fontcolor="grey40"`)
				}
				want := fmt.Sprintf("\t%s [%s];\n", QuoteDOT(string(m.ID)), strings.Join(attrs, ", ")) +
					fmt.Sprintf("\t%s -> %s [relation=%s, %s];\n", QuoteDOT(string(id)), QuoteDOT("c/d"), QuoteDOT("merge"), relationStyle(Merge)) +
					fmt.Sprintf("\t%s -> %s [relation=%s, %s];\n", QuoteDOT("c/d"), QuoteDOT(string(id)), QuoteDOT("we\"ird"), relationStyle("we\"ird")) + "}\n"
				_, got, _ := strings.Cut(buf.String(), "\tedge [arrowsize=0.6];\n")
				if got != want {
					t.Errorf("%+v root %q:\n got %q\nwant %q", m, root, got, want)
				}
			}
		}
	}
}
