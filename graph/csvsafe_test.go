package graph

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

// csvValue undoes CSVText: one leading quote is dropped.
func csvValue(cell string) string { return strings.TrimPrefix(cell, "'") }

// TestCSVNeutralisesFormulas writes Hub-supplied text that a spreadsheet
// would run as a formula (= + - @, tab, CR first) in every text column of
// both CSV exports: each such cell gets a leading quote, a cell that starts
// with a quote gets one more (so that dropping one always gives the value
// back), and numbers, dates and other text are written as they are.
func TestCSVNeutralisesFormulas(t *testing.T) {
	hostile := []string{"=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'quoted", "''two"}
	plain := []string{"mit", "transformers", "text-generation", "a=b", "x-1", "", "ü@x"}
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var models []Model
	for i, s := range append(hostile, plain...) {
		models = append(models, Model{ID: ModelID("org/m" + string(rune('a'+i))), Author: s, Downloads: -5, Likes: 7,
			CreatedAt: created, License: s, LibraryName: s, PipelineTag: s, Gated: s})
	}
	// Listed ids may start with any printable character (ParseListedID).
	ids := []ModelID{"=cmd/x", "-org/x", "+x", "@x/y", "'q/x", "org/plain"}
	for _, id := range ids {
		models = append(models, Model{ID: id, Downloads: 3})
	}

	var nodes, edges bytes.Buffer
	ne, ee := NewCSVNodesEncoder(&nodes), NewCSVEncoder(&edges)
	for _, m := range models {
		ne.Node(m)
		ee.Node(m)
	}
	for i, m := range models {
		r := Relation(hostile[i%len(hostile)])
		ee.Edge(Edge{Parent: ids[i%len(ids)], Child: m.ID, Relation: r})
	}
	if err := ne.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ee.Close(); err != nil {
		t.Fatal(err)
	}

	check := func(file string, data []byte, header []string, text map[string]bool, want func(row int) map[string]string) {
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for i, row := range rows[1:] {
			for j, cell := range row {
				col := header[j]
				if text[col] && cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s row %d %s = %q: a spreadsheet runs it", file, i+1, col, cell)
				}
				w, ok := want(i)[col]
				if !ok {
					continue
				}
				got := cell
				if text[col] {
					got = csvValue(cell)
				}
				if got != w {
					t.Errorf("%s row %d %s = %q, read back %q, want %q", file, i+1, col, cell, got, w)
				}
			}
		}
	}
	nodeText := map[string]bool{"id": true, "author": true, "license": true, "library": true, "pipeline": true, "gated": true}
	check("csv-nodes", nodes.Bytes(), CSVNodeHeader, nodeText, func(i int) map[string]string {
		m := models[i]
		w := map[string]string{"id": string(m.ID), "author": authorOf(m), "license": m.License, "library": m.LibraryName,
			"pipeline": m.PipelineTag, "gated": m.Gated, "downloads": "-5", "likes": "7", "created_at": "2024-01-02T03:04:05Z"}
		if m.CreatedAt.IsZero() {
			w["downloads"], w["likes"], w["created_at"] = "3", "0", ""
		}
		return w
	})
	edgeText := map[string]bool{"parent": true, "relation": true, "child": true, "child_author": true, "child_license": true,
		"child_library": true, "child_pipeline": true, "parent_license": true}
	check("csv", edges.Bytes(), CSVEdgeHeader, edgeText, func(i int) map[string]string {
		m := models[i]
		return map[string]string{"parent": string(ids[i%len(ids)]), "relation": hostile[i%len(hostile)], "child": string(m.ID),
			"child_author": authorOf(m), "child_license": m.License, "child_library": m.LibraryName, "child_pipeline": m.PipelineTag}
	})
}

func FuzzCSVText(f *testing.F) {
	for _, s := range []string{"", "=", "'", "''=", "-1", "a", "\t", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := CSVText(s)
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("CSVText(%q) = %q", s, c)
		}
		if csvValue(c) != s {
			t.Fatalf("CSVText(%q) = %q, read back as %q", s, c, csvValue(c))
		}
	})
}
