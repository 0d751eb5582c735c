package graph

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Encoder writes a lineage graph in some format, streaming: all nodes
// first (sorted by id for deterministic output), then all edges (sorted by
// parent, child, relation), then Close. Every encoder in this package
// satisfies it.
type Encoder interface {
	Node(m Model)
	Edge(e Edge)
	Close() error
}

func timeAttr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// GraphMLEncoder writes GraphML (Gephi, Cytoscape, networkx, yEd). Nodes
// carry downloads (30 days'), likes, createdAt, license, library, pipeline,
// author, stub and, where the Hub gave it, downloadsAllTime; edges their
// relation.
type GraphMLEncoder struct {
	w   *bufio.Writer
	err error
	n   int
}

var graphMLKeys = []struct{ id, forWhat, name, typ string }{
	{"d0", "node", "downloads", "long"},
	{"d1", "node", "likes", "long"},
	{"d2", "node", "createdAt", "string"},
	{"d3", "node", "license", "string"},
	{"d4", "node", "library", "string"},
	{"d5", "node", "pipeline", "string"},
	{"d6", "node", "author", "string"},
	{"d7", "node", "stub", "boolean"},
	{"d8", "edge", "relation", "string"},
	{"d9", "node", "downloadsAllTime", "long"},
}

// NewGraphMLEncoder starts a GraphML document on w.
func NewGraphMLEncoder(w io.Writer) *GraphMLEncoder {
	e := &GraphMLEncoder{w: bufio.NewWriterSize(w, 64<<10)}
	e.write(xml.Header)
	e.write(`<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">` + "\n")
	for _, k := range graphMLKeys {
		e.write(fmt.Sprintf(`  <key id="%s" for="%s" attr.name="%s" attr.type="%s"/>`+"\n", k.id, k.forWhat, k.name, k.typ))
	}
	e.write(`  <graph id="hflineage" edgedefault="directed">` + "\n")
	return e
}

func (e *GraphMLEncoder) write(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func xmlEscape(s string) string {
	var b bufWriter
	xml.EscapeText(&b, []byte(s))
	return string(b)
}

type bufWriter []byte

func (b *bufWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// Node writes one node.
func (e *GraphMLEncoder) Node(m Model) {
	e.write(`    <node id="` + xmlEscape(string(m.ID)) + `">`)
	data := func(key, v string) {
		if v != "" {
			e.write(`<data key="` + key + `">` + xmlEscape(v) + `</data>`)
		}
	}
	data("d0", strconv.FormatInt(m.Downloads, 10))
	data("d1", strconv.FormatInt(m.Likes, 10))
	data("d2", timeAttr(m.CreatedAt))
	data("d3", m.License)
	data("d4", m.LibraryName)
	data("d5", m.PipelineTag)
	data("d6", authorOf(m))
	data("d7", strconv.FormatBool(m.Stub))
	data("d9", m.DownloadsAllTime.text())
	e.write("</node>\n")
}

// Edge writes one edge.
func (e *GraphMLEncoder) Edge(ed Edge) {
	e.n++
	e.write(fmt.Sprintf(`    <edge id="e%d" source="%s" target="%s"><data key="d8">%s</data></edge>`+"\n",
		e.n, xmlEscape(string(ed.Parent)), xmlEscape(string(ed.Child)), xmlEscape(string(ed.Relation))))
}

// Close ends the document and flushes.
func (e *GraphMLEncoder) Close() error {
	e.write("  </graph>\n</graphml>\n")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

func authorOf(m Model) string {
	if m.Author != "" {
		return m.Author
	}
	return m.ID.Author()
}

// NodeLinkEncoder writes networkx's node-link JSON:
// {"directed":true,"multigraph":true,"graph":{},"nodes":[{"id":…}],"links":[{"source":…,"target":…,"relation":…,"key":…}]}.
// A (parent, child) pair may have several links, one per relation (the key).
type NodeLinkEncoder struct {
	w       *bufio.Writer
	err     error
	nodes   int
	links   int
	inLinks bool
}

// NewNodeLinkEncoder starts a node-link document on w.
func NewNodeLinkEncoder(w io.Writer) *NodeLinkEncoder {
	e := &NodeLinkEncoder{w: bufio.NewWriterSize(w, 64<<10)}
	e.write(`{"directed":true,"multigraph":true,"graph":{"name":"hflineage"},"nodes":[`)
	return e
}

func (e *NodeLinkEncoder) write(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *NodeLinkEncoder) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.write(string(b))
}

type nodeLinkNode struct {
	ID          ModelID `json:"id"`
	Author      string  `json:"author"`
	Downloads   int64   `json:"downloads"`
	Likes       int64   `json:"likes"`
	CreatedAt   string  `json:"createdAt"`
	License     string  `json:"license"`
	LibraryName string  `json:"library"`
	PipelineTag string  `json:"pipeline"`
	Stub        bool    `json:"stub"`
	// DownloadsAllTime is left out when the Hub gave none.
	DownloadsAllTime OptionalCount `json:"downloadsAllTime,omitzero"`
}

// Node writes one node.
func (e *NodeLinkEncoder) Node(m Model) {
	if e.nodes > 0 {
		e.write(",")
	}
	e.nodes++
	e.writeJSON(nodeLinkNode{m.ID, authorOf(m), m.Downloads, m.Likes, timeAttr(m.CreatedAt), m.License, m.LibraryName, m.PipelineTag, m.Stub, m.DownloadsAllTime})
}

// Edge writes one link.
func (e *NodeLinkEncoder) Edge(ed Edge) {
	if !e.inLinks {
		e.write(`],"links":[`)
		e.inLinks = true
	}
	if e.links > 0 {
		e.write(",")
	}
	e.links++
	e.writeJSON(struct {
		Source   ModelID  `json:"source"`
		Target   ModelID  `json:"target"`
		Relation Relation `json:"relation"`
		Key      Relation `json:"key"`
	}{ed.Parent, ed.Child, ed.Relation, ed.Relation})
}

// Close ends the document and flushes.
func (e *NodeLinkEncoder) Close() error {
	if !e.inLinks {
		e.write(`],"links":[`)
	}
	e.write("]}\n")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// CSVText is s as a CSV cell that a spreadsheet shows as text: a value
// that starts with = + - @, a tab or a carriage return (which Excel,
// LibreOffice and Google Sheets would run as a formula: OWASP's "CSV
// injection") gets a leading single quote, which spreadsheets take as a text
// marker and do not show. So does a value that already starts with a quote,
// so that dropping one leading quote always gives the value back, as a
// program reading the file should. Every other value is written as it is.
func CSVText(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r'", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// CSVEncoder writes the edge list as CSV: parent,relation,child, then the
// child's attributes and the parent's license (license drift at a glance).
// Text cells (ids, relation, author, license, library, pipeline) go
// through CSVText; numbers and dates are written as they are.
// Nodes are not written (see CSVNodesEncoder) but their attributes are
// remembered for the edge rows, unless Lookup is set.
type CSVEncoder struct {
	w     *csv.Writer
	attrs map[ModelID]Model
	// Lookup, if set, gives the record of an edge's endpoint when its row
	// is written (the zero Model for an unknown id), so that nodes need
	// not be remembered: Node then does nothing, and a whole database is
	// written holding no node in memory. Its first error ends the rows;
	// Close returns it.
	Lookup func(ModelID) (Model, error)
	parent Model // the last parent looked up: edges come grouped by parent
	err    error
}

// CSVEdgeHeader is the header row of the edge list.
var CSVEdgeHeader = []string{"parent", "relation", "child", "child_author", "child_downloads", "child_likes",
	"child_created_at", "child_license", "child_library", "child_pipeline", "parent_license"}

// NewCSVEncoder starts an edge list on w.
func NewCSVEncoder(w io.Writer) *CSVEncoder {
	e := &CSVEncoder{w: csv.NewWriter(w), attrs: map[ModelID]Model{}}
	e.w.Write(CSVEdgeHeader)
	return e
}

// Node remembers a node's attributes for its edges (without Lookup).
func (e *CSVEncoder) Node(m Model) {
	if e.Lookup != nil {
		return
	}
	m.Tags = nil
	e.attrs[m.ID] = m
}

// Edge writes one row.
func (e *CSVEncoder) Edge(ed Edge) {
	var c, p Model
	switch {
	case e.err != nil:
		return
	case e.Lookup == nil:
		c, p = e.attrs[ed.Child], e.attrs[ed.Parent]
	default:
		if e.parent.ID != ed.Parent || ed.Parent == "" {
			if e.parent, e.err = e.Lookup(ed.Parent); e.err != nil {
				return
			}
			e.parent.ID = ed.Parent
		}
		if c, e.err = e.Lookup(ed.Child); e.err != nil {
			return
		}
		p = e.parent
	}
	e.w.Write([]string{CSVText(string(ed.Parent)), CSVText(string(ed.Relation)), CSVText(string(ed.Child)), CSVText(authorOf(Model{ID: ed.Child, Author: c.Author})),
		strconv.FormatInt(c.Downloads, 10), strconv.FormatInt(c.Likes, 10), timeAttr(c.CreatedAt), CSVText(c.License), CSVText(c.LibraryName), CSVText(c.PipelineTag), CSVText(p.License)})
}

// Close flushes; it returns the first error of Lookup or of writing.
func (e *CSVEncoder) Close() error {
	e.w.Flush()
	if e.err != nil {
		return e.err
	}
	return e.w.Error()
}

// CSVNodesEncoder writes the node table as CSV. Text cells (id, author,
// license, library, pipeline, gated) go through CSVText.
type CSVNodesEncoder struct{ w *csv.Writer }

// CSVNodeHeader is the header row of the node table.
var CSVNodeHeader = []string{"id", "author", "downloads", "likes", "created_at", "last_modified", "license", "library", "pipeline", "gated", "stub", "downloads_all_time"}

// NewCSVNodesEncoder starts a node table on w.
func NewCSVNodesEncoder(w io.Writer) *CSVNodesEncoder {
	e := &CSVNodesEncoder{w: csv.NewWriter(w)}
	e.w.Write(CSVNodeHeader)
	return e
}

// Node writes one row.
func (e *CSVNodesEncoder) Node(m Model) {
	e.w.Write([]string{CSVText(string(m.ID)), CSVText(authorOf(m)), strconv.FormatInt(m.Downloads, 10), strconv.FormatInt(m.Likes, 10),
		timeAttr(m.CreatedAt), timeAttr(m.LastModified), CSVText(m.License), CSVText(m.LibraryName), CSVText(m.PipelineTag), CSVText(m.Gated), strconv.FormatBool(m.Stub), m.DownloadsAllTime.text()})
}

// Edge is ignored: the node table has no edges.
func (e *CSVNodesEncoder) Edge(Edge) {}

// Close flushes.
func (e *CSVNodesEncoder) Close() error {
	e.w.Flush()
	return e.w.Error()
}
