package graph

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended):\n%s", path, got)
	}
}

func testFamily(t *testing.T) (*Family, func(ModelID) Model) {
	src := edges(`meta-llama/Llama-3.1-8B>finetune>a/ft a/ft>quantized>q/ft-GGUF meta-llama/Llama-3.1-8B>adapter>b/lora
		a/ft>merge>m/merged outside/base>merge>m/merged m/merged>finetune>a/ft b/lora>weird>w/x`)
	f, err := LoadFamily(context.Background(), src, "meta-llama/Llama-3.1-8B", -1)
	if err != nil {
		t.Fatal(err)
	}
	models := map[ModelID]Model{
		"meta-llama/Llama-3.1-8B": {ID: "meta-llama/Llama-3.1-8B", Downloads: 1000, Likes: 10},
		"a/ft":                    {ID: "a/ft", Downloads: 5},
	}
	return f, func(id ModelID) Model {
		if m, ok := models[id]; ok {
			return m
		}
		return Model{ID: id, Stub: id == "w/x"}
	}
}

func TestWriteFamilyDOTGolden(t *testing.T) {
	f, model := testFamily(t)
	var buf bytes.Buffer
	if err := WriteFamily(context.Background(), NewDOTEncoder(&buf, "lineage of "+string(f.Root), f.Root), f, modelsFunc(model), nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "family.dot", buf.Bytes())
	if strings.Contains(buf.String(), "outside/base") {
		t.Error("co-parent outside the family exported")
	}
	renderDOT(t, buf.Bytes())
}

// TestDOTLegend: the DOT carries exactly the lineage (one node per member,
// one edge per family edge) unless Legend is asked for, which adds a key of
// two pseudo-nodes and one pseudo-edge per relation, drawn in the colours
// of RelationColor.
func TestDOTLegend(t *testing.T) {
	f, model := testFamily(t)
	for _, tt := range []struct {
		name   string
		legend bool
		golden string
	}{
		{"lineage only", false, "family.dot"},
		{"with legend", true, "family-legend.dot"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := NewDOTEncoder(&buf, "lineage of "+string(f.Root), f.Root)
			if tt.legend {
				enc.Legend()
			}
			if err := WriteFamily(context.Background(), enc, f, modelsFunc(model), nil); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			golden(t, tt.golden, buf.Bytes())
			nodes, edges := strings.Count(out, "[label="), strings.Count(out, " -> ")
			wantNodes, wantEdges := len(f.Members), len(f.Edges)
			if nodes != wantNodes || edges != wantEdges {
				t.Errorf("%d nodes, %d edges; want %d, %d", nodes, edges, wantNodes, wantEdges)
			}
			if got := strings.Contains(out, "legend"); got != tt.legend {
				t.Errorf("legend drawn: %v, want %v", got, tt.legend)
			}
			for _, r := range Relations {
				if c := `color="` + HexColor(RelationColor(r)) + `"`; tt.legend && !strings.Contains(out, c) {
					t.Errorf("legend lacks %s in %s", r, c)
				}
			}
			renderDOT(t, buf.Bytes())
		})
	}
	var buf bytes.Buffer
	enc := NewDOTEncoder(&buf, "late", "")
	enc.Node(Model{ID: "a/b"})
	enc.Legend()
	if err := enc.Close(); err == nil {
		t.Error("Legend after Node: no error")
	}
}

func TestRelationColor(t *testing.T) {
	seen := map[string]Relation{}
	for _, r := range Relations {
		c := HexColor(RelationColor(r))
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s share %s", r, other, c)
		}
		seen[c] = r
	}
	if got := HexColor(RelationColor(Finetune)); got != "#1f77b4" {
		t.Errorf("finetune is %s, want #1f77b4 (the README says blue)", got)
	}
	if RelationColor("weird") != OtherColor {
		t.Error("unknown relation not OtherColor")
	}
}

// renderDOT checks that Graphviz accepts the DOT, when it is installed.
func renderDOT(t *testing.T, dot []byte) {
	t.Helper()
	bin, err := exec.LookPath("dot")
	if err != nil {
		t.Log("Graphviz not installed: DOT not rendered")
		return
	}
	cmd := exec.Command(bin, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v: %s", err, stderr.String())
	}
	if !bytes.Contains(out, []byte("<svg")) {
		t.Fatal("dot -Tsvg gave no SVG")
	}
}

func TestDOTHostileIDs(t *testing.T) {
	var buf bytes.Buffer
	enc := NewDOTEncoder(&buf, `name "with" quotes\`, "")
	ids := []string{`a"b`, `back\slash`, "new\nline", "tab\tx", "-> [ ] { } ; =", "ünïcödé", "\x00\x01", "trailing\\"}
	for _, id := range ids {
		enc.Node(Model{ID: ModelID(id)})
	}
	for _, id := range ids {
		enc.Edge(Edge{Parent: ModelID(id), Child: "x", Relation: "finetune"})
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	renderDOT(t, buf.Bytes())
}

// graphvizUnquote reads q, a double-quoted DOT string, as Graphviz's
// scanner does: backslashes in pairs (a pair kept as two backslashes, one
// before a quote read as the quote), a lone backslash kept. It fails when
// the string ends before q does or not at all.
func graphvizUnquote(q string) (string, error) {
	if len(q) < 2 || q[0] != '"' {
		return "", fmt.Errorf("not quoted: %q", q)
	}
	var b strings.Builder
	for i := 1; i < len(q); i++ {
		switch c := q[i]; {
		case c == '"':
			if i != len(q)-1 {
				return "", fmt.Errorf("string ends at byte %d of %q", i, q)
			}
			return b.String(), nil
		case c == '\\' && i+1 < len(q) && q[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '\\' && i+1 < len(q) && q[i+1] == '\\':
			b.WriteString(`\\`)
			i++
		case c == '\\' && i+1 < len(q) && q[i+1] == '\n':
			return "", fmt.Errorf("line continuation in %q", q)
		case c == '\n' || c == '\r' || c == 0:
			return "", fmt.Errorf("raw control character in %q", q)
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated: %q", q)
}

func FuzzQuoteDOT(f *testing.F) {
	for _, s := range []string{"", `"`, `\`, `\"`, `\\"`, `a\\`, "a\nb", "\x00", "ü", "\xff", "&amp;", "&#65;", "&x", "a&;b", `\N\G`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := QuoteDOT(s)
		got, err := graphvizUnquote(q)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(q) {
			t.Fatalf("invalid UTF-8 in %q", q)
		}
		// Graphviz reads back s itself, an & that looks like an entity
		// written &amp; (which it decodes), unless s has what QuoteDOT must
		// change: control characters, invalid UTF-8 or U+FFFD, backslashes
		// before a quote or at the end.
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) ||
			strings.Contains(s, `\"`) || strings.HasSuffix(s, `\`) {
			return
		}
		var want strings.Builder
		for i := range len(s) {
			if s[i] == '&' && startsEntity(s[i:]) {
				want.WriteString("&amp;")
			} else {
				want.WriteByte(s[i])
			}
		}
		if got != want.String() {
			t.Fatalf("Graphviz reads %q back as %q, want %q", s, got, want.String())
		}
	})
}

func FuzzParseBaseModelTag(f *testing.F) {
	for _, s := range []string{"base_model:a/b", "base_model:adapter:a/b", "base_model::", "base_model:x:y:z", "license:mit"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		rel, id, ok := ParseBaseModelTag(tag)
		if !ok {
			return
		}
		if _, err := ParseListedID(string(id)); err != nil {
			t.Fatalf("%q gave invalid id %q", tag, id)
		}
		want := "base_model:" + string(id)
		if rel != "" {
			if !strings.EqualFold(tag, "base_model:"+string(rel)+":"+string(id)) {
				t.Fatalf("%q split into %q, %q", tag, rel, id)
			}
		} else if tag != want {
			t.Fatalf("%q gave %q", tag, id)
		}
		ParentsFromTags([]string{tag, tag})
	})
}

// modelsFunc adapts a per-id lookup to WriteFamily's batch form.
func modelsFunc(model func(ModelID) Model) func([]ModelID, func(Model) error) error {
	return func(ids []ModelID, fn func(Model) error) error {
		for _, id := range ids {
			if err := fn(model(id)); err != nil {
				return err
			}
		}
		return nil
	}
}
