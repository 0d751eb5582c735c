// Package graph holds hflineage's domain types — models, relations and the
// parent→child edges between them — and the algorithms and encoders that work
// on them. It does no I/O of its own: families are loaded through the small
// EdgeSource interface, and encoders write to an io.Writer they are given.
package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ModelID is a Hub model id, "name" or "org/name".
type ModelID string

// Relation is how a child model derives from a parent.
type Relation string

// The relations the Hub records. A child that declares a parent without a
// relation is a Finetune, the Hub's default.
const (
	Adapter   Relation = "adapter"
	Finetune  Relation = "finetune"
	Merge     Relation = "merge"
	Quantized Relation = "quantized"
)

// Relations lists the known relations in their canonical (sorted) order.
var Relations = []Relation{Adapter, Finetune, Merge, Quantized}

// Known reports whether r is one of Relations.
func (r Relation) Known() bool {
	switch r {
	case Adapter, Finetune, Merge, Quantized:
		return true
	}
	return false
}

// ParseRelation parses a relation name such as "adapter". An unknown name is an error.
func ParseRelation(s string) (Relation, error) {
	r := Relation(strings.ToLower(strings.TrimSpace(s)))
	if !r.Known() {
		return "", fmt.Errorf("unknown relation %q (want adapter, finetune, merge or quantized)", s)
	}
	return r, nil
}

// Edge is one declared parent→child relation.
type Edge struct {
	Parent   ModelID
	Child    ModelID
	Relation Relation
}

// Model is what hflineage keeps of a Hub model. A model known only because
// another model names it as a parent (never listed or fetched itself) is a
// Stub: its other fields are empty.
type Model struct {
	ID        ModelID `json:"id"`
	Author    string  `json:"author,omitempty"`
	Downloads int64   `json:"downloads,omitempty"` // the last 30 days', as the Hub counts them
	// DownloadsAllTime is the Hub's downloadsAllTime: unknown (and left
	// out of JSON) when the answer had none, or the record predates it.
	DownloadsAllTime OptionalCount `json:"downloadsAllTime,omitzero"`
	Likes            int64         `json:"likes,omitempty"`
	CreatedAt        time.Time     `json:"createdAt,omitzero"`
	LastModified     time.Time     `json:"lastModified,omitzero"`
	LibraryName      string        `json:"library_name,omitempty"`
	PipelineTag      string        `json:"pipeline_tag,omitempty"`
	Gated            string        `json:"gated,omitempty"`
	License          string        `json:"license,omitempty"`
	Tags             []string      `json:"tags,omitempty"`
	Stub             bool          `json:"stub,omitempty"`
}

// ErrInvalidID is returned (wrapped) by ParseModelID for ids the Hub would refuse.
var ErrInvalidID = errors.New("invalid model id")

// ParseModelID checks s against the Hub's rule for repo ids: "name" or
// "org/name", each part made of [A-Za-z0-9_.-], the name 1–96 characters, no
// "--" or "..", not starting or ending with "-" or ".".
func ParseModelID(s string) (ModelID, error) {
	if err := checkID(s); err != nil {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidID, s, err)
	}
	return ModelID(s), nil
}

func checkID(s string) error {
	parts := strings.Split(s, "/")
	if len(parts) > 2 {
		return errors.New(`more than one "/"`)
	}
	for i, p := range parts {
		what := "name"
		if len(parts) == 2 && i == 0 {
			what = "organisation"
		}
		if p == "" {
			return fmt.Errorf("empty %s", what)
		}
		if len(p) > 96 {
			return fmt.Errorf("%s longer than 96 characters", what)
		}
		for j, c := range p { // by character, so that the message names 'é', not a byte of it
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
				if _, size := utf8.DecodeRuneInString(p[j:]); c == utf8.RuneError && size == 1 {
					return fmt.Errorf("byte %#x not allowed (not UTF-8)", p[j])
				}
				return fmt.Errorf("character %q not allowed", c)
			}
		}
		if strings.Contains(p, "--") || strings.Contains(p, "..") {
			return fmt.Errorf(`%s contains "--" or ".."`, what)
		}
		if strings.IndexAny(p[:1], "-.") == 0 || strings.IndexAny(p[len(p)-1:], "-.") == 0 {
			return fmt.Errorf(`%s starts or ends with "-" or "."`, what)
		}
	}
	return nil
}

// MaxListedIDLen bounds the ids ParseListedID accepts, in bytes.
const MaxListedIDLen = 256

// ParseListedID checks an id the Hub listed. Such ids are data, not input:
// older repos may break today's rules (a 97-character name, "a--b"), so
// any id that is safe to store and print is accepted: valid UTF-8 of at
// most MaxListedIDLen bytes, printable characters only (no control or
// format characters, no white space), "name" or "org/name" with neither
// part empty, "." or "..". What it refuses wraps ErrInvalidID. Every id
// ParseModelID accepts, it accepts.
func ParseListedID(s string) (ModelID, error) {
	if err := checkListedID(s); err != nil {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidID, s, err)
	}
	return ModelID(s), nil
}

func checkListedID(s string) error {
	if len(s) > MaxListedIDLen {
		return fmt.Errorf("longer than %d bytes", MaxListedIDLen)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	org, name, two := strings.Cut(s, "/")
	parts := []string{org}
	if two {
		parts = append(parts, name)
	}
	for _, p := range parts {
		switch {
		case p == "":
			return errors.New("empty part")
		case p == "." || p == "..":
			return fmt.Errorf("part %q", p)
		case strings.Contains(p, "/"):
			return errors.New(`more than one "/"`)
		}
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return fmt.Errorf("character %U not allowed", r)
		}
	}
	return nil
}

// Author returns the organisation part of an "org/name" id, or "" for a bare name.
func (id ModelID) Author() string {
	if i := strings.IndexByte(string(id), '/'); i >= 0 {
		return string(id[:i])
	}
	return ""
}

// checkEvery is how many steps a long loop takes between looks at its
// context: often enough to stop within milliseconds, rarely enough to cost
// nothing.
const checkEvery = 1024

// canceled returns ctx's error on every checkEvery-th step (the first
// included), else nil.
func canceled(ctx context.Context, step int) error {
	if step%checkEvery != 0 {
		return nil
	}
	return ctx.Err()
}
