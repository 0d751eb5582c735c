package graph

import (
	"bufio"
	"context"
	"fmt"
	"image/color"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DOTEncoder writes a lineage graph as Graphviz DOT, streaming: nodes are
// written as they are given, then edges. Callers give nodes sorted by id and
// edges sorted by (parent, child, relation) to get deterministic output that
// can be diffed. Every id is quoted and escaped for Graphviz, not only for
// DOT (see QuoteDOT and QuoteDOTLabel). Each relation has its own
// edge style (colour from RelationColor), explained by a legend only when
// Legend is called: the graph itself carries exactly the lineage.
type DOTEncoder struct {
	w       *bufio.Writer
	root    ModelID
	started bool // a node or edge was written
	legend  bool // Legend was called: the key is written at Close
	inEdges bool
	err     error

	// ClusterOf, if set, groups nodes into labelled clusters (by author, by
	// relation, …). Nodes must then be given grouped by cluster.
	ClusterOf func(Model) string
	cluster   string
	inCluster bool
	styles    map[Relation]string // relationStyle, computed once per relation
}

// OtherColor is the colour of relations outside Relations.
var OtherColor = color.RGBA{0x7f, 0x7f, 0x7f, 0xff}

// relationColors: finetune blue, adapter green, quantized orange, merge purple.
var relationColors = map[Relation]color.RGBA{
	Finetune:  {0x1f, 0x77, 0xb4, 0xff},
	Adapter:   {0x2c, 0xa0, 0x2c, 0xff},
	Quantized: {0xff, 0x7f, 0x0e, 0xff},
	Merge:     {0x94, 0x67, 0xbd, 0xff},
}

// RelationColor is the colour of relation r in every picture hflineage
// draws (DOT edges and its legend, the growth and history charts), so that a
// relation looks the same everywhere. Unknown relations get OtherColor.
func RelationColor(r Relation) color.RGBA {
	if c, ok := relationColors[r]; ok {
		return c
	}
	return OtherColor
}

// HexColor writes c as #rrggbb (alpha ignored), as DOT, SVG and CSS take it.
func HexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// relationLine is the DOT line style of each relation besides its colour.
var relationLine = map[Relation]string{
	Adapter:   ", style=dashed",
	Quantized: ", style=dotted",
	Merge:     ", style=bold",
}

// relationStyle is the DOT edge style of r.
func relationStyle(r Relation) string {
	return `color="` + HexColor(RelationColor(r)) + `"` + relationLine[r]
}

// NewDOTEncoder starts a digraph named name on w. root, if not empty, is
// drawn highlighted.
func NewDOTEncoder(w io.Writer, name string, root ModelID) *DOTEncoder {
	e := &DOTEncoder{w: bufio.NewWriterSize(w, 64<<10), root: root}
	e.printf("digraph %s {\n", QuoteDOT(name))
	e.printf("\tgraph [rankdir=LR, fontname=\"Helvetica\"];\n")
	e.printf("\tnode [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n")
	e.printf("\tedge [arrowsize=0.6];\n")
	return e
}

// Legend draws a key of the relations' edge styles under the picture: the
// root graph's label, an HTML-like table with a sample line (in the
// relation's colour, dashed, dotted or heavy as its edges) beside each
// relation's name. It is a label, not nodes, so every layout engine keeps it
// in one piece (sfdp scattered a key made of nodes) and readers that count
// nodes (networkx, Gephi) see only models; it is still not drawn unless asked
// for. It must be called before Node and Edge; the label is written at Close,
// after every cluster, so that clusters do not inherit its placement.
func (e *DOTEncoder) Legend() {
	if e.started {
		e.err = fmt.Errorf("dot: legend written after nodes or edges")
		return
	}
	e.legend = true
}

// legendKey is what the legend shows beside each relation: a sample of
// the line its edges are drawn with (solid, dashed, dotted, heavy) and the
// style in words, for a reader who cannot tell the samples apart.
var legendKey = map[Relation]struct{ sample, style string }{
	Finetune:  {"━━━━", "solid"},
	Adapter:   {"╺━╸╺━╸", "dashed"},
	Quantized: {"┅┅┅┅", "dotted"},
	Merge:     {`<font point-size="16">━━━</font>`, "bold"}, // heavier: the same line at a larger size
}

func (e *DOTEncoder) writeLegend() {
	var b strings.Builder
	b.WriteString("\t// relation legend: a label under the picture, not nodes\n")
	b.WriteString("\tlabelloc=\"b\"; labeljust=\"l\"; fontsize=10;\n")
	b.WriteString("\tlabel=<<table border=\"0\" cellborder=\"0\" cellspacing=\"1\" cellpadding=\"1\">")
	b.WriteString("<tr><td align=\"left\" colspan=\"3\"><b>relation</b></td></tr>")
	for _, r := range Relations {
		k := legendKey[r]
		fmt.Fprintf(&b, "<tr><td align=\"left\"><font color=\"%s\">%s</font></td><td align=\"left\">%s</td><td align=\"left\"><font color=\"grey40\">%s</font></td></tr>",
			HexColor(RelationColor(r)), k.sample, r, k.style)
	}
	b.WriteString("</table>>;\n")
	e.printf("%s", b.String())
}

func (e *DOTEncoder) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}

// Node writes one node. It must not be called after Edge.
func (e *DOTEncoder) Node(m Model) {
	if e.inEdges {
		e.err = fmt.Errorf("dot: node %s written after edges", m.ID)
		return
	}
	e.started = true
	if e.ClusterOf != nil {
		if c := e.ClusterOf(m); !e.inCluster || c != e.cluster {
			e.endCluster()
			e.cluster, e.inCluster = c, true
			e.printf("\tsubgraph %s {\n\t\tlabel=%s; style=\"rounded,dashed\"; color=\"grey60\"; fontsize=11;\n",
				QuoteDOT("cluster:"+c), QuoteDOTLabel(c))
		}
	}
	// Written piece by piece (no fmt): a family of 100,000s of members.
	id := string(m.ID)
	e.write("\t")
	e.quote(id)
	e.write(" [label=")
	if plainDOT(id) {
		e.write(`"` + id + `"`)
	} else {
		e.write(QuoteDOTLabel(id))
	}
	if m.Downloads > 0 || m.Likes > 0 {
		e.write(", tooltip=")
		d, l := strconv.FormatInt(m.Downloads, 10), strconv.FormatInt(m.Likes, 10)
		switch {
		case plainDOT(id):
			e.write(`"` + id + `\ndownloads: ` + d + `\nlikes: ` + l + `"`)
		case strings.Contains(id, `\`):
			// Graphviz versions read backslashes in tooltips in
			// different ways (2.43 expands \\N there); the label shows
			// the id.
			e.write(`"downloads: ` + d + `\nlikes: ` + l + `"`)
		default:
			e.write(QuoteDOTLabel(id + "\ndownloads: " + d + "\nlikes: " + l))
		}
	}
	switch {
	case m.ID == e.root:
		e.write(`, style="rounded,filled,bold", fillcolor="#ffe08a"`)
	case m.Stub:
		e.write(`, style="rounded,dashed", color="grey50", fontcolor="grey40"`)
	}
	e.write("];\n")
}

// write writes s unless an error was met.
func (e *DOTEncoder) write(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

// quote writes s as QuoteDOT returns it.
func (e *DOTEncoder) quote(s string) {
	if !plainDOT(s) {
		e.write(QuoteDOT(s))
		return
	}
	e.write(`"`)
	e.write(s)
	e.write(`"`)
}

// plainDOT reports whether QuoteDOT and QuoteDOTLabel only add quotes
// around s: printable ASCII without quote, backslash or ampersand.
func plainDOT(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '&' {
			return false
		}
	}
	return true
}

func (e *DOTEncoder) endCluster() {
	if e.inCluster {
		e.printf("\t}\n")
		e.inCluster = false
	}
}

// Edge writes one edge.
func (e *DOTEncoder) Edge(ed Edge) {
	if !e.inEdges {
		e.endCluster()
	}
	e.inEdges, e.started = true, true
	style, ok := e.styles[ed.Relation]
	if !ok {
		if e.styles == nil {
			e.styles = map[Relation]string{}
		}
		style = relationStyle(ed.Relation)
		e.styles[ed.Relation] = style
	}
	// The relation is carried as an attribute (for pydot and networkx) and
	// shown by the style; labels would clutter large families.
	e.write("\t")
	e.quote(string(ed.Parent))
	e.write(" -> ")
	e.quote(string(ed.Child))
	e.write(" [relation=")
	e.quote(string(ed.Relation))
	e.write(", " + style + "];\n")
}

// Close ends the graph and flushes. It returns the first error met while writing.
func (e *DOTEncoder) Close() error {
	e.endCluster()
	if e.legend {
		e.writeLegend()
	}
	e.printf("}\n")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// QuoteDOT returns s as a DOT double-quoted string that Graphviz reads
// back as s, for names (of nodes, clusters, the graph) and attributes
// Graphviz does not draw: any s gives one valid DOT ID. In a quoted string
// Graphviz reads backslashes in pairs, a pair as two backslashes and one
// before a quote as the quote, and keeps a lone backslash: so backslashes
// are written as they are, except a run of them before a quote or the
// closing quote, which is doubled (Graphviz then keeps twice as many). An &
// that would start an XML entity (&name; &#n; &#xh;) is written &amp;:
// Graphviz copies names into SVG titles and comments without escaping what
// looks like an entity, which made the file unreadable. Line breaks and
// other control characters are written as Go escapes (\n, \x01), text that
// Graphviz keeps as it is.
func QuoteDOT(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			size = len(s[i:]) - len(strings.TrimLeft(s[i:], `\`))
			b.WriteString(s[i : i+size])
			if rest := s[i+size:]; rest == "" || rest[0] == '"' {
				b.WriteString(s[i : i+size])
			}
		case '&':
			if startsEntity(s[i:]) {
				b.WriteString("&amp;")
			} else {
				b.WriteByte('&')
			}
		default:
			writeDOTRune(&b, r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// QuoteDOTLabel returns s as a quoted DOT escString for the attributes
// Graphviz draws (label, tooltip), so that it shows s: every backslash is
// doubled (Graphviz would expand \N, \G, \E, \H, \T and \L into names, and
// read \l and \r as line ends), every & written &amp; (Graphviz decodes
// entities in labels: &lt; would show as <), and a line break written \n,
// which Graphviz draws as one. Other control characters are shown as Go
// escapes (\x01).
func QuoteDOTLabel(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '&':
			b.WriteString("&amp;")
		case '\n':
			b.WriteString(`\n`)
		default:
			if r < 0x20 || r == 0x7f || r == 0xfffd {
				b.WriteString(`\`) // shown as the escape's text, \x01
			}
			writeDOTRune(&b, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeDOTRune writes r, or for a control character and U+FFFD (what an
// invalid byte decodes to) its Go escape: \n, \r, \t, \x01, \ufffd.
func writeDOTRune(b *strings.Builder, r rune) {
	if r < 0x20 || r == 0x7f || r == 0xfffd {
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
		return
	}
	b.WriteRune(r)
}

// startsEntity reports whether s, which starts with &, starts with what
// Graphviz takes for an XML entity and copies unescaped into SVG: & then
// # and digits, #x and hex digits, or letters, then ;. Digits after
// letters are allowed too, to be safe across versions.
func startsEntity(s string) bool {
	rest := s[1:]
	if strings.HasPrefix(rest, "#") {
		rest = rest[1:]
		if strings.HasPrefix(rest, "x") || strings.HasPrefix(rest, "X") {
			rest = rest[1:]
		}
	}
	i := 0
	for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z') {
		i++
	}
	return i < len(rest) && rest[i] == ';'
}

// WriteFamily writes f through enc: its members sorted by id (or by
// cluster, then id, when less orders them), then its edges. models calls
// its function with the member records in id order (stubs for unknown ids).
// When ctx ends it stops, without closing enc, and returns ctx's error.
func WriteFamily(ctx context.Context, enc Encoder, f *Family, models func(ids []ModelID, fn func(Model) error) error, less func(a, b Model) bool) error {
	ids := f.SortedMembers()
	step := 0
	if less == nil {
		err := models(ids, func(m Model) error {
			enc.Node(m)
			step++
			return canceled(ctx, step)
		})
		if err != nil {
			return err
		}
	} else {
		members := make([]Model, 0, len(ids))
		err := models(ids, func(m Model) error {
			m.Tags = nil
			members = append(members, m)
			step++
			return canceled(ctx, step)
		})
		if err != nil {
			return err
		}
		sort.SliceStable(members, func(i, j int) bool { return less(members[i], members[j]) })
		for i, m := range members {
			if err := canceled(ctx, i); err != nil {
				return err
			}
			enc.Node(m)
		}
	}
	for i, ed := range f.Edges {
		if err := canceled(ctx, i); err != nil {
			return err
		}
		enc.Edge(ed)
	}
	return enc.Close()
}
