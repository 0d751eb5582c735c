package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// Model records are stored in a compact binary form (JSON was a third of
// the cost of ingesting a page and of loading the graph for stats):
//
//	version byte (recordV1, or recordV2 when the all-time downloads are known)
//	flags byte (1: stub)
//	uvarint run
//	varint downloads, likes; recordV2 only: varint all-time downloads
//	varint createdAt, lastModified (Unix ns, 0 = unknown)
//	strings (uvarint length + bytes): id, author, library, pipeline, gated, license
//	uvarint count, then tags as strings
//	uvarint count, then parents as (id, relation) string pairs
//
// A record of version 1 (all of them, before hflineage asked the Hub for
// downloadsAllTime) reads with the all-time downloads unknown.
const (
	recordV1 byte = 1
	recordV2 byte = 2
)

// recordVersionOK reports whether v is a record version this build reads.
func recordVersionOK(v byte) bool { return v == recordV1 || v == recordV2 }

var errRecord = errors.New("malformed model record")

func encodeRecord(r *record) []byte {
	n := 32 + len(r.ID) + len(r.Author) + len(r.LibraryName) + len(r.PipelineTag) + len(r.Gated) + len(r.License)
	for _, t := range r.Tags {
		n += len(t) + 2
	}
	for _, p := range r.Parents {
		n += len(p.ID) + len(p.Relation) + 4
	}
	b := make([]byte, 0, n)
	if r.DownloadsAllTime.Known {
		b = append(b, recordV2)
	} else {
		b = append(b, recordV1)
	}
	var flags byte
	if r.Stub {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, r.Run)
	b = binary.AppendVarint(b, r.Downloads)
	b = binary.AppendVarint(b, r.Likes)
	if r.DownloadsAllTime.Known {
		b = binary.AppendVarint(b, r.DownloadsAllTime.N)
	}
	b = binary.AppendVarint(b, unixNano(r.CreatedAt))
	b = binary.AppendVarint(b, unixNano(r.LastModified))
	for _, s := range []string{string(r.ID), r.Author, r.LibraryName, r.PipelineTag, r.Gated, r.License} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Tags)))
	for _, t := range r.Tags {
		b = appendString(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Parents)))
	for _, p := range r.Parents {
		b = appendString(b, string(p.ID))
		b = appendString(b, string(p.Relation))
	}
	return b
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// recordDecoder reads a record; the first error sticks.
type recordDecoder struct {
	b   []byte
	err error
}

func (d *recordDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errRecord
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *recordDecoder) time() time.Time {
	if ns := d.varint(); ns != 0 {
		return time.Unix(0, ns).UTC()
	}
	return time.Time{}
}

// decodeRecord decodes a record made by encodeRecord. With skipTags the
// tags are not kept (loading the whole graph needs no tags).
func decodeRecord(b []byte, r *record, skipTags bool) error {
	if len(b) < 2 || !recordVersionOK(b[0]) {
		return fmt.Errorf("%w (version %d)", errRecord, firstByte(b))
	}
	d := &recordDecoder{b: b[2:]}
	*r = record{}
	r.Stub = b[1]&1 != 0
	r.Run = d.uvarint()
	r.Downloads = d.varint()
	r.Likes = d.varint()
	if b[0] == recordV2 {
		r.DownloadsAllTime = graph.CountOf(d.varint())
	}
	r.CreatedAt = d.time()
	r.LastModified = d.time()
	r.ID = graph.ModelID(d.string())
	r.Author = d.string()
	r.LibraryName = d.string()
	r.PipelineTag = d.string()
	r.Gated = d.string()
	r.License = d.string()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return errRecord
	}
	if !skipTags && n > 0 {
		r.Tags = make([]string, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		if skipTags {
			if l := d.uvarint(); l <= uint64(len(d.b)) {
				d.b = d.b[l:]
			} else {
				d.err = errRecord
			}
			continue
		}
		r.Tags = append(r.Tags, d.string())
	}
	n = d.uvarint()
	if n > uint64(len(d.b)) {
		return errRecord
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		r.Parents = append(r.Parents, graph.Parent{ID: graph.ModelID(d.string()), Relation: graph.Relation(d.string())})
	}
	if d.err == nil && len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errRecord, len(d.b))
	}
	return d.err
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}
