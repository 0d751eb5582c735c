package graph

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// svgNode is what Graphviz's SVG says of one node or cluster: its title
// (the DOT name), its text (the label) and its tooltip.
type svgNode struct {
	Class   string   `xml:"class,attr"`
	Title   string   `xml:"title"`
	Text    []string `xml:"text"`
	Tooltip []struct {
		Title string   `xml:"http://www.w3.org/1999/xlink title,attr"`
		Text  []string `xml:"text"`
	} `xml:"g>a"`
}

// renderSVG runs Graphviz's dot on the DOT and parses the SVG as XML,
// returning its nodes and clusters; it skips the test without Graphviz.
func renderSVG(t *testing.T, dot []byte) []svgNode {
	t.Helper()
	bin, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz (dot) is not installed: the SVG cannot be checked")
	}
	cmd := exec.Command(bin, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dot -Tsvg: %v: %s\n%s", err, stderr.String(), dot)
	}
	var svg struct {
		Groups []struct {
			Groups []svgNode `xml:"g"`
		} `xml:"g"`
	}
	d := xml.NewDecoder(bytes.NewReader(out))
	d.Strict = true
	if err := d.Decode(&svg); err != nil {
		t.Fatalf("the SVG is not XML: %v\n%s", err, out)
	}
	if len(svg.Groups) != 1 {
		t.Fatalf("the SVG has %d graphs, want 1", len(svg.Groups))
	}
	return svg.Groups[0].Groups
}

// TestDOTForGraphviz renders listed-valid ids and Hub strings that
// Graphviz would read as entities (&…;) or escapes (\N, \G, …) and checks
// the SVG: it parses as XML, and every node's title, label and tooltip,
// and the clusters' labels, show the strings as they are.
func TestDOTForGraphviz(t *testing.T) {
	ids := []string{
		"org/a&foo;b", "org/&amp;x", "org/&#65;&#x42;", "org/&lt;x&gt;", "org/&;", "org/R&D-7b",
		`org/x\N\G`, `org/\E\T\H\L`, `org/a\nb`, `org/a\\b`, `org/a\"b`, "org/tail\\",
		"old--org/legacy..name", "org/<script>", `org/"quoted"`, "org/pct%41#frag", "ünï/cödé",
	}
	// Graphviz reads a backslash before a quote or the closing quote only
	// doubled: such names come out with two (labels and tooltips do not).
	doubled := map[string]string{`org/a\"b`: `org/a\\"b`, "org/tail\\": `org/tail\\`}
	authors := map[string]string{}
	for i, id := range ids {
		authors[id] = []string{"a&foo;", `\N\G`, "plain", "x&amp;y"}[i%4]
	}

	var buf bytes.Buffer
	enc := NewDOTEncoder(&buf, `g&foo;\G`, ModelID(ids[0]))
	enc.ClusterOf = func(m Model) string { return authors[string(m.ID)] }
	for _, a := range []string{"a&foo;", `\N\G`, "plain", "x&amp;y"} {
		for i, id := range ids {
			if authors[id] == a {
				enc.Node(Model{ID: ModelID(id), Downloads: int64(i + 1), Likes: int64(i)})
			}
		}
	}
	for i := 1; i < len(ids); i++ {
		enc.Edge(Edge{Parent: ModelID(ids[0]), Child: ModelID(ids[i]), Relation: Finetune})
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}

	nodes := map[string]svgNode{}
	clusters := map[string]bool{}
	var walk func([]svgNode)
	walk = func(gs []svgNode) {
		for _, g := range gs {
			switch g.Class {
			case "node":
				nodes[g.Title] = g
			case "cluster":
				for _, tx := range g.Text {
					clusters[tx] = true
				}
			}
		}
	}
	walk(renderSVG(t, buf.Bytes()))
	for i, id := range ids {
		title := id
		if d, ok := doubled[id]; ok {
			title = d
		}
		n, ok := nodes[title]
		if !ok {
			t.Errorf("no node titled %q in the SVG", title)
			continue
		}
		var label []string
		var tooltip string
		for _, a := range n.Tooltip {
			label, tooltip = a.Text, a.Title
		}
		if len(label) != 1 || label[0] != id {
			t.Errorf("node %q is labelled %q", id, label)
		}
		want := fmt.Sprintf("%s\ndownloads: %d\nlikes: %d", id, i+1, i)
		if strings.Contains(id, `\`) {
			// Graphviz versions differ on backslashes in tooltips: the
			// label alone shows such an id.
			want = fmt.Sprintf("downloads: %d\nlikes: %d", i+1, i)
		}
		if tooltip != want {
			t.Errorf("node %q: tooltip %q, want %q", id, tooltip, want)
		}
	}
	if len(nodes) != len(ids) {
		t.Errorf("%d nodes in the SVG, want %d", len(nodes), len(ids))
	}
	for _, a := range []string{"a&foo;", `\N\G`, "plain", "x&amp;y"} {
		if !clusters[a] {
			t.Errorf("no cluster labelled %q in the SVG (clusters: %v)", a, clusters)
		}
	}
}

// labelText is what Graphviz draws for an escString label read from the
// DOT string q: after its scanner, a backslash and the next character are
// that character (\\ a backslash, \n a line end; \N, \G … would be
// expanded, which QuoteDOTLabel must never leave), and &amp; is &.
func labelText(t *testing.T, q string) string {
	t.Helper()
	raw, err := graphvizUnquote(q)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch {
		case raw[i] == '\\' && i+1 < len(raw):
			i++
			switch raw[i] {
			case 'n':
				b.WriteByte('\n')
			case 'N', 'G', 'E', 'H', 'T', 'L', 'l', 'r':
				t.Fatalf("%q holds \\%c, which Graphviz expands", q, raw[i])
			default:
				b.WriteByte(raw[i])
			}
		case raw[i] == '&':
			if !strings.HasPrefix(raw[i:], "&amp;") {
				t.Fatalf("%q holds an & that Graphviz may read as an entity", q)
			}
			b.WriteByte('&')
			i += len("&amp;") - 1
		default:
			b.WriteByte(raw[i])
		}
	}
	return b.String()
}

func FuzzQuoteDOTLabel(f *testing.F) {
	for _, s := range []string{"", `"`, `\`, `\"`, `a\\`, "a\nb", `\N\G\E\H\T\L\l\r`, "&amp;", "&#65;", "&", "ü", "\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := labelText(t, QuoteDOTLabel(s))
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f || r == utf8.RuneError }) {
			return // shown as Go escapes
		}
		if got != s {
			t.Fatalf("Graphviz draws %q as %q", s, got)
		}
	})
}
