package graph

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"unsafe"
)

// The binary form of a Graph's topology (ids, edges, relations; no node
// attributes), for caching the whole edge graph beside the database:
//
//	magic "HFLCSR4\n" ("HFLCSR3\n" without node attributes), uint64 tag (the caller's version), uint8 flags
//	(1: ids strictly increasing), uint32 n, uint32 m
//	uint32 total id bytes, ids concatenated, n uint32 id ends
//	n+1 uint32 offsets, m uint32 targets
//	uint8 relation count, relations as (uint8 length, bytes), m uint8 relation indexes
//	node attributes (see appendNodes)
//
// A graph with sorted ids is found by bisection, without an index map; a
// CSRWriter writes one from sorted scans without holding a Graph.
//
// HFLCSR3 had node records without the all-time downloads: a graph without
// node attributes (edges.csr) is written as before, under that magic, so
// that caches written before stay valid; one with them (graph.bin) is
// HFLCSR4, and an HFLCSR3 file with node attributes is refused (rebuilt).
var (
	csrMagic      = []byte("HFLCSR4\n")
	csrMagicEdges = []byte("HFLCSR3\n")
)

// magicFor is the magic of a graph with node attributes or without.
func magicFor(withNodes bool) []byte {
	if withNodes {
		return csrMagic
	}
	return csrMagicEdges
}

const csrSorted = 1

// ErrBadCSR: the bytes are not a graph made by MarshalCSR.
var ErrBadCSR = errors.New("malformed graph cache")

// MarshalCSR encodes g's topology, and its node attributes when it has
// them, with a caller-chosen tag (a version).
func (g *Graph) MarshalCSR(tag uint64) ([]byte, error) {
	var b bytes.Buffer
	err := g.WriteCSR(&b, tag)
	return b.Bytes(), err
}

// WriteCSR writes what MarshalCSR returns to w, a piece at a time: a graph
// of millions of models is written without its encoded form in memory.
func (g *Graph) WriteCSR(w io.Writer, tag uint64) error {
	idBytes := 0
	for _, id := range g.ids {
		idBytes += len(id)
	}
	var rels []Relation
	relIndex := map[Relation]uint8{}
	for _, r := range g.rel {
		if _, ok := relIndex[r]; !ok {
			if len(rels) == 255 || len(r) > 255 {
				return fmt.Errorf("graph cache: too many or too long relations")
			}
			relIndex[r] = uint8(len(rels))
			rels = append(rels, r)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var b []byte // one piece, written before the next
	put := func() {
		bw.Write(b)
		b = b[:0]
	}
	n, m := len(g.ids), len(g.dst)
	b = append(b, magicFor(g.Nodes != nil)...)
	b = binary.LittleEndian.AppendUint64(b, tag)
	var flags uint8
	if g.sorted || idsIncrease(g.ids) {
		flags |= csrSorted
	}
	b = append(b, flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, uint32(m))
	b = binary.LittleEndian.AppendUint32(b, uint32(idBytes))
	put()
	for _, id := range g.ids {
		bw.WriteString(string(id))
	}
	end := 0
	for _, id := range g.ids {
		end += len(id)
		b = binary.LittleEndian.AppendUint32(b, uint32(end))
		put()
	}
	for _, o := range g.off {
		b = binary.LittleEndian.AppendUint32(b, uint32(o))
		put()
	}
	for _, d := range g.dst {
		b = binary.LittleEndian.AppendUint32(b, uint32(d))
		put()
	}
	b = append(b, uint8(len(rels)))
	for _, r := range rels {
		b = append(b, uint8(len(r)))
		b = append(b, r...)
	}
	put()
	for _, r := range g.rel {
		bw.WriteByte(relIndex[r])
	}
	if g.Nodes == nil {
		bw.WriteByte(0)
		return bw.Flush()
	}
	bw.WriteByte(1)
	index, table := nodeTable(g.Nodes)
	b = appendTable(b, table)
	put()
	for i := range g.Nodes {
		n := &g.Nodes[i]
		b = appendNodeRecord(b, index[n.Author], index[n.License], n)
		put()
	}
	return bw.Flush()
}

// nodeTable is the string table of nodes' authors and licenses, and each
// string's index in it.
func nodeTable(nodes []NodeInfo) (map[string]uint32, []string) {
	index := map[string]uint32{}
	var table []string
	for _, n := range nodes {
		for _, s := range []string{n.Author, n.License} {
			if _, ok := index[s]; !ok {
				index[s] = uint32(len(table))
				table = append(table, s)
			}
		}
	}
	return index, table
}

func appendTable(b []byte, table []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(table)))
	for _, s := range table {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// nodeRecordLen is the size of a node's record: uint32 author and license
// indexes into the string table, int64 downloads, likes and created, uint8
// flags (1: stub, 2: all-time downloads known), int64 all-time downloads.
const nodeRecordLen = 4 + 4 + 8 + 8 + 8 + 1 + 8

const (
	nodeStub    = 1
	nodeAllTime = 2
)

func appendNodeRecord(b []byte, author, license uint32, n *NodeInfo) []byte {
	b = binary.LittleEndian.AppendUint32(b, author)
	b = binary.LittleEndian.AppendUint32(b, license)
	b = binary.LittleEndian.AppendUint64(b, uint64(n.Downloads))
	b = binary.LittleEndian.AppendUint64(b, uint64(n.Likes))
	b = binary.LittleEndian.AppendUint64(b, uint64(n.Created))
	var flags byte
	if n.Stub {
		flags |= nodeStub
	}
	if n.HasDownloadsAllTime {
		flags |= nodeAllTime
	}
	b = append(b, flags)
	return binary.LittleEndian.AppendUint64(b, uint64(n.DownloadsAllTime))
}

// nodeRecord decodes a record made by appendNodeRecord; ok is false when
// an index is outside the table.
func nodeRecord(rec []byte, table []string) (n NodeInfo, ok bool) {
	a, l := binary.LittleEndian.Uint32(rec), binary.LittleEndian.Uint32(rec[4:])
	if int64(a) >= int64(len(table)) || int64(l) >= int64(len(table)) {
		return n, false
	}
	return NodeInfo{Author: table[a], License: table[l], Downloads: int64(binary.LittleEndian.Uint64(rec[8:])),
		Likes: int64(binary.LittleEndian.Uint64(rec[16:])), Created: int64(binary.LittleEndian.Uint64(rec[24:])), Stub: rec[32]&nodeStub != 0,
		HasDownloadsAllTime: rec[32]&nodeAllTime != 0, DownloadsAllTime: int64(binary.LittleEndian.Uint64(rec[33:]))}, true
}

func (r *csrReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrBadCSR
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *csrReader) nodes(n int, ok bool) []NodeInfo {
	if r.u8() == 0 {
		return nil
	}
	if !ok {
		r.err = ErrBadCSR // HFLCSR3's node records
		return nil
	}
	table := r.table()
	if r.err != nil || n > len(r.b)/nodeRecordLen {
		r.err = ErrBadCSR
		return nil
	}
	nodes := make([]NodeInfo, n)
	for i := range nodes {
		var ok bool
		if nodes[i], ok = nodeRecord(r.next(nodeRecordLen), table); !ok {
			r.err = ErrBadCSR
			return nil
		}
	}
	return nodes
}

func (r *csrReader) table() []string {
	k := r.uvarint()
	if k > uint64(len(r.b)) {
		r.err = ErrBadCSR
		return nil
	}
	table := make([]string, k)
	for i := range table {
		table[i] = string(r.next(int(min(r.uvarint(), uint64(len(r.b)+1)))))
	}
	return table
}

// CSRTag returns the tag of the encoded graph that b begins with (its
// first CSRHeaderLen bytes suffice); ok is false when b does not begin like
// MarshalCSR's output.
func CSRTag(b []byte) (tag uint64, ok bool) {
	if len(b) < CSRHeaderLen || string(b[:len(csrMagic)]) != string(csrMagic) && string(b[:len(csrMagic)]) != string(csrMagicEdges) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[len(csrMagic):]), true
}

// CSRHeaderLen is how many bytes of an encoded graph CSRTag reads.
const CSRHeaderLen = 16

// UnmarshalCSR decodes a graph made by MarshalCSR and returns its tag. The
// graph's ids share b's memory: b must not be modified afterwards. A graph
// with unsorted ids has its id index built lazily (Index scans until then).
func UnmarshalCSR(b []byte) (*Graph, uint64, error) {
	r := csrReader{b: b}
	h, ok := r.header()
	if !ok || h.idBytes > uint64(len(r.b)) || h.n > uint64(len(r.b))/4 || h.m > uint64(len(r.b))/4 {
		return nil, 0, ErrBadCSR
	}
	tag, flags := h.tag, h.flags
	n, m, idBytes := int(h.n), int(h.m), int(h.idBytes)
	// Every id is a substring of b's id section, not a copy: b must not
	// change after (UnmarshalCSR's callers hand it over, as the doc says).
	idSection := r.next(idBytes)
	all := ""
	if len(idSection) > 0 {
		all = unsafe.String(&idSection[0], len(idSection))
	}
	g := &Graph{ids: make([]ModelID, n), off: make([]int32, n+1), dst: make([]int32, m), rel: make([]Relation, m)}
	start := 0
	for i := 0; i < n; i++ {
		end := int(r.u32())
		if end < start || end > len(all) {
			return nil, 0, ErrBadCSR
		}
		g.ids[i] = ModelID(all[start:end])
		start = end
	}
	for i := range g.off {
		g.off[i] = int32(r.u32())
	}
	for i := range g.dst {
		g.dst[i] = int32(r.u32())
	}
	k := int(r.u8())
	rels := make([]Relation, k)
	for i := range rels {
		rels[i] = internRelation(r.next(int(r.u8())))
	}
	for i := range g.rel {
		ri := int(r.u8())
		if ri >= k {
			return nil, 0, ErrBadCSR
		}
		g.rel[i] = rels[ri]
	}
	g.Nodes = r.nodes(n, h.nodesOK)
	if r.err != nil || len(r.b) != 0 || g.off[0] != 0 || int(g.off[n]) != m {
		return nil, 0, ErrBadCSR
	}
	for i := 0; i < n; i++ {
		if g.off[i] > g.off[i+1] {
			return nil, 0, ErrBadCSR
		}
	}
	for _, d := range g.dst {
		if d < 0 || int(d) >= n {
			return nil, 0, ErrBadCSR
		}
	}
	if flags&csrSorted != 0 {
		if !idsIncrease(g.ids) {
			return nil, 0, ErrBadCSR
		}
		g.sorted = true
	}
	return g, tag, nil
}

func idsIncrease(ids []ModelID) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			return false
		}
	}
	return true
}

// csrHeader is what an encoded graph says of itself before its sections.
type csrHeader struct {
	tag     uint64
	flags   uint8
	n, m    uint64 // nodes, edges
	idBytes uint64 // the size of the id section
	nodesOK bool   // node attributes may follow (HFLCSR4)
}

// header reads the magic and the header; ok is false when either is not
// there.
func (r *csrReader) header() (h csrHeader, ok bool) {
	switch string(r.next(len(csrMagic))) {
	case string(csrMagic):
		h.nodesOK = true
	case string(csrMagicEdges):
	default:
		return h, false
	}
	h.tag, h.flags = r.u64(), r.u8()
	h.n, h.m, h.idBytes = uint64(r.u32()), uint64(r.u32()), uint64(r.u32())
	return h, r.err == nil
}

type csrReader struct {
	b   []byte
	err error
}

func (r *csrReader) next(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = ErrBadCSR
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *csrReader) u64() uint64 {
	if b := r.next(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *csrReader) u32() uint32 {
	if b := r.next(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *csrReader) u8() uint8 {
	if b := r.next(1); b != nil {
		return b[0]
	}
	return 0
}

// CSRWriter encodes a graph in MarshalCSR's form straight from sorted
// scans of a store: every node in strictly increasing id order, then every
// edge in non-decreasing parent order. It keeps only the encoded form (ids
// as one byte slice, no map, no string per node): a fraction of what a
// Graph of the same size holds. Errors are returned by Node and Edge and
// again by WriteTo.
type CSRWriter struct {
	withNodes bool
	ids       []byte
	ends      []uint32
	nodes     []byte // node records, as appendNodes writes them
	table     []string
	tableIdx  map[string]uint32
	count     []uint32 // edges out of each node
	dst       []uint32
	rel       []uint8
	rels      []Relation
	parent    int // node of the last edge's parent
	err       error
}

// NewCSRWriter starts an empty graph; withNodes keeps node attributes.
func NewCSRWriter(withNodes bool) *CSRWriter {
	return &CSRWriter{withNodes: withNodes, tableIdx: map[string]uint32{}}
}

func (w *CSRWriter) id(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = w.ends[i-1]
	}
	return w.ids[start:w.ends[i]]
}

// Grow makes room for about nodes more nodes of idBytes bytes of ids in
// all, so that a writer told its size up front does not regrow (and copy)
// its buffers as nodes come.
func (w *CSRWriter) Grow(nodes, idBytes int) {
	w.ids = slices.Grow(w.ids, idBytes)
	w.ends = slices.Grow(w.ends, nodes)
	if w.withNodes {
		w.nodes = slices.Grow(w.nodes, nodes*nodeRecordLen)
	}
}

// LastID returns the id of the last node given, valid until the next Node.
func (w *CSRWriter) LastID() []byte { return w.id(len(w.ends) - 1) }

// Len returns the number of nodes given so far.
func (w *CSRWriter) Len() int { return len(w.ends) }

// Node adds the next node; n is its attributes (nil: none known, as for a
// stub). It fails on an id not above the previous one or after Edge.
func (w *CSRWriter) Node(id []byte, n *NodeInfo) error {
	if w.err != nil {
		return w.err
	}
	if w.count != nil {
		w.err = fmt.Errorf("graph cache: node %q after edges", id)
		return w.err
	}
	if k := len(w.ends); k > 0 && string(w.id(k-1)) >= string(id) {
		w.err = fmt.Errorf("graph cache: node %q out of order", id)
		return w.err
	}
	w.ids = append(w.ids, id...)
	w.ends = append(w.ends, uint32(len(w.ids)))
	if w.withNodes {
		var info NodeInfo
		if n != nil {
			info = *n
		}
		w.nodes = appendNodeRecord(w.nodes, w.intern(info.Author), w.intern(info.License), &info)
	}
	return nil
}

func (w *CSRWriter) intern(s string) uint32 {
	if i, ok := w.tableIdx[s]; ok {
		return i
	}
	i := uint32(len(w.table))
	w.tableIdx[s] = i
	w.table = append(w.table, s)
	return i
}

// find returns the node of id, searching from node lo on.
func (w *CSRWriter) find(id []byte, lo int) (int, bool) {
	i, j := lo, len(w.ends)
	for i < j {
		h := int(uint(i+j) >> 1)
		if string(w.id(h)) < string(id) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i, i < len(w.ends) && string(w.id(i)) == string(id)
}

// Edge adds an edge between two nodes given before. Parents must come in
// non-decreasing order (a scan of edge keys gives them so).
func (w *CSRWriter) Edge(parent, child, rel []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.count == nil {
		w.count = make([]uint32, len(w.ends))
	}
	p, ok := w.find(parent, w.parent)
	if !ok {
		w.err = fmt.Errorf("graph cache: edge from %q: parent unknown or out of order", parent)
		return w.err
	}
	c, ok := w.find(child, 0)
	if !ok {
		w.err = fmt.Errorf("graph cache: edge to unknown node %q", child)
		return w.err
	}
	ri := -1
	for i, r := range w.rels {
		if string(r) == string(rel) {
			ri = i
			break
		}
	}
	if ri < 0 {
		if len(w.rels) == 255 || len(rel) > 255 {
			w.err = fmt.Errorf("graph cache: too many or too long relations")
			return w.err
		}
		ri = len(w.rels)
		w.rels = append(w.rels, internRelation(rel))
	}
	w.parent = p
	w.count[p]++
	w.dst = append(w.dst, uint32(c))
	w.rel = append(w.rel, uint8(ri))
	return nil
}

// Graph returns the graph written so far as a Graph with sorted ids (node
// attributes too, when kept), without encoding it: the ids share one copy
// of their bytes. The writer must not be used after.
func (w *CSRWriter) Graph() (*Graph, error) {
	if w.err != nil {
		return nil, w.err
	}
	n, m := len(w.ends), len(w.dst)
	all := string(w.ids)
	w.ids = nil
	g := &Graph{ids: make([]ModelID, n), off: make([]int32, n+1), dst: make([]int32, m), rel: make([]Relation, m), sorted: true}
	start := uint32(0)
	for i, end := range w.ends {
		g.ids[i] = ModelID(all[start:end])
		start = end
		if w.count != nil {
			g.off[i+1] = g.off[i] + int32(w.count[i])
		}
	}
	for k, d := range w.dst {
		g.dst[k], g.rel[k] = int32(d), w.rels[w.rel[k]]
	}
	if w.withNodes {
		g.Nodes = make([]NodeInfo, n)
		for i := range g.Nodes {
			var ok bool
			if g.Nodes[i], ok = nodeRecord(w.nodes[i*nodeRecordLen:], w.table); !ok {
				return nil, ErrBadCSR
			}
		}
	}
	return g, nil
}

// WriteTo writes the graph with the tag to out, in MarshalCSR's form with
// its ids sorted.
func (w *CSRWriter) WriteTo(out io.Writer, tag uint64) error {
	if w.err != nil {
		return w.err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	scratch := make([]byte, 0, binary.MaxVarintLen64)
	u32 := func(v uint32) { bw.Write(binary.LittleEndian.AppendUint32(scratch[:0], v)) }
	n, m := len(w.ends), len(w.dst)
	bw.Write(magicFor(w.withNodes))
	bw.Write(binary.LittleEndian.AppendUint64(scratch[:0], tag))
	bw.WriteByte(csrSorted)
	u32(uint32(n))
	u32(uint32(m))
	u32(uint32(len(w.ids)))
	bw.Write(w.ids)
	for _, e := range w.ends {
		u32(e)
	}
	off := uint32(0)
	u32(0)
	for i := 0; i < n; i++ {
		if w.count != nil {
			off += w.count[i]
		}
		u32(off)
	}
	for _, d := range w.dst {
		u32(d)
	}
	bw.WriteByte(uint8(len(w.rels)))
	for _, r := range w.rels {
		bw.WriteByte(uint8(len(r)))
		bw.WriteString(string(r))
	}
	bw.Write(w.rel)
	if !w.withNodes {
		bw.WriteByte(0)
	} else {
		bw.WriteByte(1)
		bw.Write(appendTable(nil, w.table))
		bw.Write(w.nodes)
	}
	return bw.Flush()
}

// NodeTable reads node attributes in place from an encoded graph with
// sorted ids and node attributes (as graph.bin holds), without decoding
// the graph: an id is found by bisection and its fixed-width record read.
// It reads the bytes it was made from, which must not change while it is
// used.
type NodeTable struct {
	ids   []byte
	ends  []byte // uint32 per node
	nodes []byte // nodeRecordLen per node
	table []string
}

// NewNodeTable returns the table of encoded graph b, and b's tag. It fails
// with ErrBadCSR when b is not a graph with sorted ids and attributes.
func NewNodeTable(b []byte) (*NodeTable, uint64, error) {
	r := csrReader{b: b}
	h, ok := r.header()
	n, m, idBytes := h.n, h.m, h.idBytes
	if !ok || !h.nodesOK || h.flags&csrSorted == 0 || idBytes+4*n+4*(n+1)+5*m > uint64(len(r.b)) {
		return nil, 0, ErrBadCSR
	}
	tag := h.tag
	t := &NodeTable{ids: r.next(int(idBytes)), ends: r.next(int(4 * n))}
	r.next(int(4*(n+1) + 4*m)) // offsets and targets
	for k := r.u8(); k > 0 && r.err == nil; k-- {
		r.next(int(r.u8()))
	}
	r.next(int(m)) // relation indexes
	if r.u8() != 1 {
		return nil, 0, ErrBadCSR
	}
	t.table = r.table()
	if r.err != nil || uint64(len(r.b)) != n*nodeRecordLen {
		return nil, 0, ErrBadCSR
	}
	t.nodes = r.b
	prev := uint32(0)
	for i := uint64(0); i < n; i++ {
		end := binary.LittleEndian.Uint32(t.ends[4*i:])
		if end < prev || uint64(end) > idBytes {
			return nil, 0, ErrBadCSR
		}
		prev = end
	}
	return t, tag, nil
}

// Len returns the number of nodes.
func (t *NodeTable) Len() int { return len(t.ends) / 4 }

func (t *NodeTable) id(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = binary.LittleEndian.Uint32(t.ends[4*(i-1):])
	}
	return t.ids[start:binary.LittleEndian.Uint32(t.ends[4*i:])]
}

// Find returns the attributes of id; ok is false when id is not a node
// (or its record is damaged).
func (t *NodeTable) Find(id ModelID) (n NodeInfo, ok bool) {
	i, j := 0, t.Len()
	for i < j {
		h := int(uint(i+j) >> 1)
		if string(t.id(h)) < string(id) {
			i = h + 1
		} else {
			j = h
		}
	}
	if i == t.Len() || string(t.id(i)) != string(id) {
		return n, false
	}
	return nodeRecord(t.nodes[i*nodeRecordLen:], t.table)
}

// Align returns, for each of n ids in strictly increasing order (id(i) is
// the i-th), its node number in the table, or -1 when the table has none:
// one merge of two sorted lists, rather than a bisection per id.
func (t *NodeTable) Align(n int, id func(i int) ModelID) []int32 {
	out := make([]int32, n)
	k, m := 0, t.Len()
	for i := range n {
		want := id(i)
		for k < m && string(t.id(k)) < string(want) {
			k++
		}
		if k < m && string(t.id(k)) == string(want) {
			out[i] = int32(k)
		} else {
			out[i] = -1
		}
	}
	return out
}

// Record returns node k's attributes; ok is false when k is out of range
// (or its record is damaged).
func (t *NodeTable) Record(k int) (n NodeInfo, ok bool) {
	if k < 0 || k >= t.Len() {
		return n, false
	}
	return nodeRecord(t.nodes[k*nodeRecordLen:], t.table)
}
