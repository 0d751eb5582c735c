package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The binary form of a Graph's topology (ids, edges, relations; no node
// attributes), for caching the whole edge graph beside the database:
//
//	magic "HFLCSR1\n", uint64 tag (the caller's version), uint32 n, uint32 m
//	uint32 total id bytes, ids concatenated, n uint32 id ends
//	n+1 uint32 offsets, m uint32 targets
//	uint8 relation count, relations as (uint8 length, bytes), m uint8 relation indexes
//	node attributes (see appendNodes)
var csrMagic = []byte("HFLCSR1\n")

// ErrBadCSR: the bytes are not a graph made by MarshalCSR.
var ErrBadCSR = errors.New("malformed graph cache")

// MarshalCSR encodes g's topology, and its node attributes when it has
// them, with a caller-chosen tag (a version).
func (g *Graph) MarshalCSR(tag uint64) ([]byte, error) {
	idBytes := 0
	for _, id := range g.ids {
		idBytes += len(id)
	}
	var rels []Relation
	relIndex := map[Relation]uint8{}
	for _, r := range g.rel {
		if _, ok := relIndex[r]; !ok {
			if len(rels) == 255 || len(r) > 255 {
				return nil, fmt.Errorf("graph cache: too many or too long relations")
			}
			relIndex[r] = uint8(len(rels))
			rels = append(rels, r)
		}
	}
	n, m := len(g.ids), len(g.dst)
	b := make([]byte, 0, len(csrMagic)+20+idBytes+4*n+4*(n+1)+5*m+256)
	b = append(b, csrMagic...)
	b = binary.LittleEndian.AppendUint64(b, tag)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, uint32(m))
	b = binary.LittleEndian.AppendUint32(b, uint32(idBytes))
	for _, id := range g.ids {
		b = append(b, id...)
	}
	end := 0
	for _, id := range g.ids {
		end += len(id)
		b = binary.LittleEndian.AppendUint32(b, uint32(end))
	}
	for _, o := range g.off {
		b = binary.LittleEndian.AppendUint32(b, uint32(o))
	}
	for _, d := range g.dst {
		b = binary.LittleEndian.AppendUint32(b, uint32(d))
	}
	b = append(b, uint8(len(rels)))
	for _, r := range rels {
		b = append(b, uint8(len(r)))
		b = append(b, r...)
	}
	for _, r := range g.rel {
		b = append(b, relIndex[r])
	}
	return appendNodes(b, g.Nodes), nil
}

// appendNodes writes the node attributes section: a flag byte (0: none),
// then a string table (authors, licenses) and per node author and license
// indexes, downloads, likes, created, stub.
func appendNodes(b []byte, nodes []NodeInfo) []byte {
	if nodes == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	index := map[string]uint64{}
	var table []string
	for _, n := range nodes {
		for _, s := range []string{n.Author, n.License} {
			if _, ok := index[s]; !ok {
				index[s] = uint64(len(table))
				table = append(table, s)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(table)))
	for _, s := range table {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, n := range nodes {
		b = binary.AppendUvarint(b, index[n.Author])
		b = binary.AppendUvarint(b, index[n.License])
		b = binary.AppendVarint(b, n.Downloads)
		b = binary.AppendVarint(b, n.Likes)
		b = binary.AppendVarint(b, n.Created)
		if n.Stub {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
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

func (r *csrReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrBadCSR
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *csrReader) nodes(n int) []NodeInfo {
	if r.u8() == 0 {
		return nil
	}
	k := r.uvarint()
	if k > uint64(len(r.b)) {
		r.err = ErrBadCSR
		return nil
	}
	table := make([]string, k)
	for i := range table {
		table[i] = string(r.next(int(min(r.uvarint(), uint64(len(r.b)+1)))))
	}
	if n > len(r.b)/5 { // every node takes at least 5 bytes
		r.err = ErrBadCSR
		return nil
	}
	nodes := make([]NodeInfo, n)
	for i := range nodes {
		a, l := r.uvarint(), r.uvarint()
		if a >= k || l >= k {
			r.err = ErrBadCSR
			return nil
		}
		nodes[i] = NodeInfo{Author: table[a], License: table[l], Downloads: r.varint(), Likes: r.varint(), Created: r.varint(), Stub: r.u8() == 1}
		if r.err != nil {
			return nil
		}
	}
	return nodes
}

// UnmarshalCSR decodes a graph made by MarshalCSR and returns its tag. The
// graph's id index is built lazily (Index scans until then).
func UnmarshalCSR(b []byte) (*Graph, uint64, error) {
	r := csrReader{b: b}
	if string(r.next(len(csrMagic))) != string(csrMagic) {
		return nil, 0, ErrBadCSR
	}
	tag := r.u64()
	n, m, idBytes := int(r.u32()), int(r.u32()), int(r.u32())
	if r.err != nil || idBytes > len(r.b) || n > len(r.b)/4 || m > len(r.b)/4 {
		return nil, 0, ErrBadCSR
	}
	all := string(r.next(idBytes)) // one allocation for every id
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
	g.Nodes = r.nodes(n)
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
	return g, tag, nil
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
