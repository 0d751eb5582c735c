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
)

// DOTEncoder writes a lineage graph as Graphviz DOT, streaming: nodes are
// written as they are given, then edges. Callers give nodes sorted by id and
// edges sorted by (parent, child, relation) to get deterministic output that
// can be diffed. Every id is quoted and escaped. Each relation has its own
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
				QuoteDOT("cluster:"+c), QuoteDOT(c))
		}
	}
	// Written piece by piece (no fmt): a family of 100,000s of members.
	id := string(m.ID)
	e.write("\t")
	e.quote(id)
	e.write(" [label=")
	e.quote(id)
	if m.Downloads > 0 || m.Likes > 0 {
		e.write(", tooltip=")
		d, l := strconv.FormatInt(m.Downloads, 10), strconv.FormatInt(m.Likes, 10)
		if plainDOT(id) {
			e.write(`"` + id + `\ndownloads: ` + d + `\nlikes: ` + l + `"`)
		} else {
			e.write(QuoteDOT(id + "\ndownloads: " + d + "\nlikes: " + l))
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

// plainDOT reports whether QuoteDOT only adds quotes around s: printable
// ASCII without quote or backslash.
func plainDOT(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
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

// QuoteDOT returns s as a DOT double-quoted string: quotes and backslashes are
// escaped and line breaks written as \n, so any s gives one valid DOT ID.
func QuoteDOT(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f || r == 0xfffd {
				b.WriteString(strconv.QuoteRune(r)[1 : len(strconv.QuoteRune(r))-1])
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
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
