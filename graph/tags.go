package graph

import (
	"sort"
	"strings"
)

// Parent is one parent a model declares, with the relation to it.
type Parent struct {
	ID       ModelID
	Relation Relation
}

const baseModelTag = "base_model:"

// ParentsFromTags reads the parents a model declares from the tags the Hub
// derives from its card: "base_model:{parent}" and
// "base_model:{relation}:{parent}". A parent named only by the plain tag is a
// Finetune (the Hub's default). A parent with several relation tags yields one
// Parent per relation. Tags whose id is not one the Hub could list (URLs,
// local paths; see ParseListedID) are skipped. The result is sorted by id, then relation,
// and has no duplicates.
func ParentsFromTags(tags []string) []Parent {
	var out []Parent
	plain := map[ModelID]bool{}
	related := map[ModelID]bool{}
	for _, t := range tags {
		rel, id, ok := ParseBaseModelTag(t)
		if !ok {
			continue
		}
		if rel == "" {
			plain[id] = true
			continue
		}
		related[id] = true
		out = append(out, Parent{ID: id, Relation: rel})
	}
	for id := range plain {
		if !related[id] {
			out = append(out, Parent{ID: id, Relation: Finetune})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Relation < out[j].Relation
	})
	// Drop duplicates (a tag repeated in the list).
	n := 0
	for i, p := range out {
		if i > 0 && p == out[n-1] {
			continue
		}
		out[n] = p
		n++
	}
	return out[:n]
}

// ParseBaseModelTag splits a "base_model:…" tag. For "base_model:{id}" it
// returns rel == ""; for "base_model:{rel}:{id}" the relation in lower case.
// ok is false for other tags and for ids ParseListedID refuses: the Hub
// writes these tags itself, with the parent's canonical id, which may be an
// old id a user could no longer type.
func ParseBaseModelTag(tag string) (rel Relation, id ModelID, ok bool) {
	rest, found := strings.CutPrefix(tag, baseModelTag)
	if !found {
		return "", "", false
	}
	if r, p, two := strings.Cut(rest, ":"); two {
		if !isRelationWord(r) {
			return "", "", false
		}
		rel, rest = Relation(strings.ToLower(r)), p
	}
	if checkListedID(rest) != nil {
		return "", "", false
	}
	return rel, ModelID(rest), true
}

func isRelationWord(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// LicenseFromTags returns the value of the first "license:" tag, or "".
func LicenseFromTags(tags []string) string {
	for _, t := range tags {
		if l, ok := strings.CutPrefix(t, "license:"); ok {
			return l
		}
	}
	return ""
}
