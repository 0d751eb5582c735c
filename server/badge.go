package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// Badges: GET /badge/{MODEL}.svg draws "derivatives | 1,682" (a model's
// descendants at every depth, or an ecosystem's members when MODEL is a
// pattern such as meta-llama/* or a comma list), for a model card or a
// README; GET /badge/{MODEL}.json answers the same as a shields.io
// endpoint ({"schemaVersion":1,"label","message","color"}). ?relation=R
// counts one relation ("fine-tunes | 91"). An answer is tagged with the
// data version (ETag) and may be cached for badgeMaxAge: a request whose
// If-None-Match names the current version is a 304 without work. A model
// not in the database is a 404, an invalid id or relation a 400, each with
// a grey or red badge (or shields JSON with isError) that says so.

// badgeMaxAge is how long a badge may be cached (seconds): crawls change
// counts at most a few times a day, and the ETag makes a recheck cheap.
const badgeMaxAge = 300

// badgeLabels name what a badge counts.
var badgeLabels = map[graph.Relation]string{
	"": "derivatives", graph.Adapter: "adapters", graph.Finetune: "fine-tunes",
	graph.Merge: "merges", graph.Quantized: "quantizations",
}

// Badge colours: the SVG's and shields' name for it.
type badgeColor struct{ hex, name string }

var (
	badgeBlue = badgeColor{"#007ec6", "blue"}
	badgeGrey = badgeColor{"#9f9f9f", "lightgrey"}
	badgeRed  = badgeColor{"#e05d44", "red"}
)

// shieldsEndpoint is the answer of a shields.io endpoint badge.
type shieldsEndpoint struct {
	SchemaVersion int    `json:"schemaVersion"`
	Label         string `json:"label"`
	Message       string `json:"message"`
	Color         string `json:"color"`
	IsError       bool   `json:"isError,omitempty"`
}

// badge answers GET /badge/{spec...}: spec is MODEL.svg or MODEL.json.
func (s *Server) badge(w http.ResponseWriter, r *http.Request) {
	spec := r.PathValue("spec")
	asJSON := false
	switch {
	case strings.HasSuffix(spec, ".svg"):
		spec = strings.TrimSuffix(spec, ".svg")
	case strings.HasSuffix(spec, ".json"):
		spec, asJSON = strings.TrimSuffix(spec, ".json"), true
	default:
		writeError(w, http.StatusNotFound, fmt.Errorf("no such badge: %s (a badge is /badge/MODEL.svg or /badge/MODEL.json)", r.URL.Path))
		return
	}
	// Embeddable anywhere: a model card on another site shows it.
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	answer := func(status int, label, message string, c badgeColor) {
		if status != http.StatusOK && status != http.StatusNotModified {
			w.Header().Set("Cache-Control", "no-store")
		}
		if asJSON {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(shieldsEndpoint{SchemaVersion: 1, Label: label, Message: message, Color: c.name, IsError: status >= 400})
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml; charset=utf-8")
		w.WriteHeader(status)
		w.Write(badgeSVG(label, message, c.hex))
	}
	var rel graph.Relation
	if v := r.URL.Query().Get("relation"); v != "" {
		var err error
		if rel, err = graph.ParseRelation(v); err != nil {
			answer(http.StatusBadRequest, "derivatives", "invalid relation", badgeRed)
			return
		}
	}
	label := badgeLabels[rel]
	if spec == "" {
		answer(http.StatusBadRequest, label, "no model named", badgeRed)
		return
	}
	// The version before the count: an answer is never tagged newer than
	// the data it counts.
	var etag string
	if sz, ok := s.q.Sizes(); ok {
		etag = `"` + strconv.FormatUint(sz.Version, 10) + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", badgeMaxAge))
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	n, err := s.badgeCount(r.Context(), spec, rel)
	if err != nil {
		w.Header().Del("ETag")
		switch {
		case errors.Is(err, query.ErrInvalid):
			answer(http.StatusBadRequest, label, "invalid model id", badgeRed)
		case errors.Is(err, query.ErrUnknownModel), errors.Is(err, query.ErrNoMatch):
			answer(http.StatusNotFound, label, "not in database", badgeGrey)
		case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
			// the client left
		default:
			s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			answer(http.StatusInternalServerError, label, "error", badgeRed)
		}
		return
	}
	c := badgeBlue
	if n == 0 {
		c = badgeGrey
	}
	answer(http.StatusOK, label, withCommas(n), c)
}

// badgeCount counts a model's descendants, or an ecosystem's members, of
// relation rel ("" : all).
func (s *Server) badgeCount(ctx context.Context, spec string, rel graph.Relation) (int, error) {
	var d graph.RelationCounts
	if query.IsEcosystem(spec) {
		c, err := s.q.CountEcosystem(ctx, spec)
		if err != nil {
			return 0, err
		}
		d = c.Descendants
	} else {
		c, err := s.q.Count(ctx, spec)
		if err != nil {
			return 0, err
		}
		d = c.Descendants
	}
	if rel == "" {
		return d.Total, nil
	}
	return d.Get(rel), nil
}

// withCommas writes n with commas: 1,682.
func withCommas(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// verdanaWidths are the advance widths of characters in Verdana at 11 px
// (the badge's font; others fall back to a wide 7.5), so that each half of
// the badge fits its text; textLength makes a renderer with another font
// draw the text at exactly that width.
var verdanaWidths = func() map[rune]float64 {
	m := map[rune]float64{' ': 3.9, ',': 4.3, '.': 4.3, '-': 4.8, '/': 4.8, '*': 6.6, '_': 7.0, '(': 4.9, ')': 4.9}
	for _, c := range "0123456789" {
		m[c] = 7.0
	}
	for c, w := range map[rune]float64{'a': 6.7, 'b': 6.9, 'c': 5.8, 'd': 6.9, 'e': 6.6, 'f': 3.9, 'g': 6.9, 'h': 7.0,
		'i': 3.0, 'j': 3.8, 'k': 6.5, 'l': 3.0, 'm': 10.7, 'n': 7.0, 'o': 6.7, 'p': 6.9, 'q': 6.9, 'r': 4.7, 's': 5.7,
		't': 4.3, 'u': 7.0, 'v': 6.5, 'w': 9.0, 'x': 6.5, 'y': 6.5, 'z': 5.8} {
		m[c] = w
	}
	return m
}()

// textWidth is the width of s in the badge's font, in pixels, rounded up.
func textWidth(s string) int {
	w := 0.0
	for _, c := range s {
		if cw, ok := verdanaWidths[c]; ok {
			w += cw
		} else {
			w += 7.5
		}
	}
	return int(math.Ceil(w))
}

// badgeSVG draws a flat two-part badge (the shields.io look): label on
// grey, message on color. The text is escaped; nothing in it is inline
// style or script.
func badgeSVG(label, message, color string) []byte {
	const pad = 10 // pixels around each text
	lt, mt := textWidth(label), textWidth(message)
	lw, mw := lt+pad, mt+pad
	total := lw + mw
	l, m := html.EscapeString(label), html.EscapeString(message)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, total, l, m)
	fmt.Fprintf(&b, `<title>%s: %s</title>`, l, m)
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, total)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`,
		lw, lw, mw, color, total)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="11">`)
	for _, t := range []struct {
		x, width int
		text     string
	}{{lw / 2, lt, l}, {lw + mw/2, mt, m}} {
		fmt.Fprintf(&b, `<text x="%d" y="15" fill="#010101" fill-opacity=".3" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`, t.x, t.width, t.text)
		fmt.Fprintf(&b, `<text x="%d" y="14" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`, t.x, t.width, t.text)
	}
	b.WriteString(`</g></svg>`)
	return []byte(b.String())
}
