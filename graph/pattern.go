package graph

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrMatchesAll marks a pattern that would name every model ("*", "*/*"):
// such a question is about the whole Hub, which a scan and stats answer.
var ErrMatchesAll = errors.New("the pattern names every model")

// Pattern names models: a model id ("meta-llama/Llama-2-7b"), every model of
// an organisation ("meta-llama/*") or a glob ("Qwen/Qwen2.5-*"), where "*"
// stands for any run of characters other than "/" and "?" for one. Ids match
// without regard to letter case, as the Hub's do.
type Pattern struct {
	raw   string // as the user wrote it
	lower string // lower-cased, for matching
	org   string // the literal organisation ("" when the pattern has none)
	glob  bool   // raw has a wildcard
}

// ParsePattern checks s: a model id, or one with "*" or "?" in place of
// characters. A pattern must name its organisation or part of a name: "*"
// and "*/*" are refused with ErrMatchesAll.
func ParsePattern(s string) (Pattern, error) {
	p := Pattern{raw: s, lower: strings.ToLower(s), glob: strings.ContainsAny(s, "*?")}
	if !p.glob {
		// A literal id: one listed under older rules (old--org/legacy..name)
		// is a name a database may hold, so it is matched like the others.
		if _, err := ParseListedID(s); err != nil {
			return Pattern{}, err
		}
		if org, _, ok := strings.Cut(s, "/"); ok {
			p.org = org
		}
		return p, nil
	}
	if strings.Trim(s, "*?/") == "" {
		return Pattern{}, fmt.Errorf("%w: %q (count the whole database with hflineage stats; crawl the whole Hub with hflineage crawl --all)", ErrMatchesAll, s)
	}
	// Valid when every wildcard stands for a letter: the rest of the id
	// follows the Hub's rules.
	if err := checkID(strings.NewReplacer("*", "a", "?", "a").Replace(s)); err != nil {
		return Pattern{}, fmt.Errorf("%w %q: %s", ErrInvalidID, s, err)
	}
	if org, _, ok := strings.Cut(s, "/"); ok && !strings.ContainsAny(org, "*?") {
		p.org = org
	}
	return p, nil
}

// IsPattern reports whether s has a wildcard (and so names many models).
func IsPattern(s string) bool { return strings.ContainsAny(s, "*?") }

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// Glob reports whether the pattern has a wildcard.
func (p Pattern) Glob() bool { return p.glob }

// Org returns the organisation the pattern spells out, "" when it has
// none or a wildcard in it.
func (p Pattern) Org() string { return p.org }

// Prefix returns the lower-cased part of the pattern before its first
// wildcard: every matching id, lower-cased, starts with it.
func (p Pattern) Prefix() string {
	if i := strings.IndexAny(p.lower, "*?"); i >= 0 {
		return p.lower[:i]
	}
	return p.lower
}

// Match reports whether id matches, in any letter case.
func (p Pattern) Match(id ModelID) bool {
	s := strings.ToLower(string(id))
	if !p.glob {
		return s == p.lower
	}
	ok, _ := path.Match(p.lower, s) // the pattern was checked: no error
	return ok
}

// Ecosystem is what a user names for counting: one or more patterns,
// written separated by commas ("meta-llama/*,mistralai/Mistral-7B-v0.1").
// Its roots are the models matching any pattern; its members, their
// descendants.
type Ecosystem struct {
	Name     string // as written
	Patterns []Pattern
}

// ParseEcosystem checks spec: patterns separated by commas.
func ParseEcosystem(spec string) (Ecosystem, error) {
	e := Ecosystem{Name: spec}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Ecosystem{}, fmt.Errorf("%w %q: empty pattern between commas", ErrInvalidID, spec)
		}
		p, err := ParsePattern(part)
		if err != nil {
			return Ecosystem{}, err
		}
		e.Patterns = append(e.Patterns, p)
	}
	return e, nil
}

// Single reports whether the ecosystem is one model id without wildcard:
// the family of one model.
func (e Ecosystem) Single() bool { return len(e.Patterns) == 1 && !e.Patterns[0].glob }

// Match reports whether id matches one of the patterns.
func (e Ecosystem) Match(id ModelID) bool {
	for _, p := range e.Patterns {
		if p.Match(id) {
			return true
		}
	}
	return false
}
