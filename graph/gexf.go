package graph

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// Timeline says when models and edges came and went, as the runs of a
// database saw them: the time spans of a GEXF export, which Gephi's
// timeline plays.
type Timeline struct {
	// First is when the first run finished: what no run's log dates (a
	// crawl into an empty database logs nothing) was first seen then.
	First time.Time
	// Seen dates the models and edges a later run added (the run's end).
	Seen     map[ModelID]time.Time
	EdgeSeen map[Edge]time.Time
	// Removed dates the models and edges a run found gone, and not back
	// since.
	Removed     map[ModelID]time.Time
	EdgeRemoved map[Edge]time.Time
	// Gone and GoneEdges are what runs removed that the export no longer
	// holds: written after the nodes and edges it has, with the spans
	// their removal closed (of a gone model only its id is known).
	Gone      []ModelID
	GoneEdges []Edge
}

// GEXFEncoder writes GEXF 1.2 (Gephi; networkx's read_gexf) in dynamic
// mode: each node spans from its model's creation on the Hub (createdAt,
// else when a run first saw it) to when a run found it gone, each edge from
// when both ends exist (or, for a parent declared after its child was
// first seen, when a run saw the edge) to when either went. Nodes carry author, license, downloads, likes, created, first_seen,
// removed, stub and (where the Hub gave it) downloads_all_time; edges
// their relation. Dates are days (timeformat
// "date"); the attributes keep the times. Models and edges the database
// no longer holds are written with the spans their removal closed
// (Timeline.Gone, Timeline.GoneEdges).
type GEXFEncoder struct {
	w     *bufio.Writer
	err   error
	tl    Timeline
	spans map[ModelID]span // of the nodes written, for their edges
	edges int
	inE   bool
}

type span struct{ start, end, seen time.Time } // seen: first seen by a run

var gexfNodeAttrs = []struct{ id, typ string }{
	{"author", "string"}, {"license", "string"}, {"downloads", "long"}, {"likes", "long"},
	{"created", "string"}, {"first_seen", "string"}, {"removed", "string"}, {"stub", "boolean"},
	{"downloads_all_time", "long"},
}

// NewGEXFEncoder starts a GEXF document on w with the spans tl gives.
func NewGEXFEncoder(w io.Writer, tl Timeline) *GEXFEncoder {
	e := &GEXFEncoder{w: bufio.NewWriterSize(w, 64<<10), tl: tl, spans: map[ModelID]span{}}
	e.write(xml.Header)
	e.write(`<gexf xmlns="http://www.gexf.net/1.2draft" version="1.2">` + "\n")
	e.write(`  <meta><creator>hflineage</creator><description>lineage of models on the Hugging Face Hub, spans from creation (or first crawl) to removal</description></meta>` + "\n")
	e.write(`  <graph defaultedgetype="directed" mode="dynamic" timeformat="date">` + "\n")
	e.write(`    <attributes class="node">` + "\n")
	for _, a := range gexfNodeAttrs {
		e.write(fmt.Sprintf(`      <attribute id="%s" title="%s" type="%s"/>`+"\n", a.id, a.id, a.typ))
	}
	e.write("    </attributes>\n" + `    <attributes class="edge">` + "\n" +
		`      <attribute id="relation" title="relation" type="string"/>` + "\n    </attributes>\n    <nodes>\n")
	return e
}

func (e *GEXFEncoder) write(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Node writes one node.
func (e *GEXFEncoder) Node(m Model) {
	seen, ok := e.tl.Seen[m.ID]
	if !ok {
		seen = e.tl.First
	}
	sp := span{start: seen, end: e.tl.Removed[m.ID], seen: seen}
	if !m.CreatedAt.IsZero() && !m.Stub { // the Hub's placeholder for old repos too: they are at least that old
		sp.start = m.CreatedAt
	}
	if !sp.end.IsZero() && sp.end.Before(sp.start) {
		sp.start = sp.end
	}
	e.spans[m.ID] = sp
	id := xmlEscape(string(m.ID))
	e.write(`      <node id="` + id + `" label="` + id + `"` + spanAttrs(sp) + "><attvalues>")
	value := func(name, v string) {
		if v != "" {
			e.write(`<attvalue for="` + name + `" value="` + xmlEscape(v) + `"/>`)
		}
	}
	value("author", authorOf(m))
	value("license", m.License)
	value("downloads", strconv.FormatInt(m.Downloads, 10))
	value("likes", strconv.FormatInt(m.Likes, 10))
	value("created", timeAttr(m.CreatedAt))
	value("first_seen", timeAttr(seen))
	value("removed", timeAttr(sp.end))
	value("stub", strconv.FormatBool(m.Stub))
	value("downloads_all_time", m.DownloadsAllTime.text())
	e.write("</attvalues></node>\n")
}

func spanAttrs(sp span) string {
	s := ""
	if !sp.start.IsZero() {
		s += ` start="` + day(sp.start) + `"`
	}
	if !sp.end.IsZero() {
		s += ` end="` + day(sp.end) + `"`
	}
	return s
}

// gone writes the gone models, sorted by id, as stubs.
func (e *GEXFEncoder) gone() {
	ids := append([]ModelID(nil), e.tl.Gone...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if _, written := e.spans[id]; !written {
			e.Node(Model{ID: id, Stub: true})
		}
	}
	e.inE = true
	e.write("    </nodes>\n    <edges>\n")
}

// Edge writes one edge.
func (e *GEXFEncoder) Edge(ed Edge) {
	if !e.inE {
		e.gone()
	}
	p, c := e.spans[ed.Parent], e.spans[ed.Child]
	sp := span{start: later(p.start, c.start), end: earlier(p.end, c.end)}
	if t, ok := e.tl.EdgeSeen[ed]; ok && t.After(c.seen) {
		sp.start = later(sp.start, t) // declared after the child was first seen
	}
	if t, ok := e.tl.EdgeRemoved[ed]; ok {
		sp.end = earlier(sp.end, t)
	}
	if !sp.end.IsZero() && sp.end.Before(sp.start) {
		sp.start = sp.end
	}
	e.write(fmt.Sprintf(`      <edge id="%d" source="%s" target="%s" label="%s"%s><attvalues><attvalue for="relation" value="%s"/></attvalues></edge>`+"\n",
		e.edges, xmlEscape(string(ed.Parent)), xmlEscape(string(ed.Child)), xmlEscape(string(ed.Relation)), spanAttrs(sp), xmlEscape(string(ed.Relation))))
	e.edges++
}

// later returns the later of a and b, ignoring a zero time.
func later(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

// earlier returns the earlier of a and b, ignoring a zero time (no end).
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// Close ends the document and flushes.
func (e *GEXFEncoder) Close() error {
	if !e.inE {
		e.gone()
	}
	edges := append([]Edge(nil), e.tl.GoneEdges...)
	sortEdges(edges)
	for _, ed := range edges {
		_, p := e.spans[ed.Parent]
		_, c := e.spans[ed.Child]
		if p && c { // both ends written: the edge belongs to the export
			e.Edge(ed)
		}
	}
	e.write("    </edges>\n  </graph>\n</gexf>\n")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}
