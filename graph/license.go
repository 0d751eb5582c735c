package graph

import "strings"

// Licence paths: when a derivative declares another licence than its
// parent, the change is relaxed (the child lets its users do more than the
// parent's licence lets them: a Llama community licence becoming
// apache-2.0), tightened (less: apache-2.0 becoming cc-by-nc-4.0), kept
// (the same licence, or another of the same class: mit becoming
// apache-2.0) or unknown (either side missing, "other", or an id the table
// does not know). The table below is the only place that says which
// licence is how permissive; docs/reference.md (licenses) prints it.

// LicenseClass groups licences that let a model's users do about as much.
type LicenseClass string

// The classes, most permissive first.
const (
	// Permissive: attribution at most (apache-2.0, mit, bsd, cc-by, cc0).
	Permissive LicenseClass = "permissive"
	// Copyleft: derivatives must keep the licence (gpl, cc-by-sa, mpl).
	Copyleft LicenseClass = "copyleft"
	// ResponsibleAI: commercial use with use restrictions passed on to
	// derivatives (the OpenRAIL family).
	ResponsibleAI LicenseClass = "responsible-ai"
	// Community: a vendor's licence for its open weights, with an
	// acceptable-use policy and the vendor's own conditions (Llama's
	// 700M-user clause and naming rule, Gemma's terms).
	Community LicenseClass = "community"
	// NonCommercial: research or non-commercial use only (cc-by-nc-*).
	NonCommercial LicenseClass = "non-commercial"
	// NoDerivatives: no derivatives may be shared at all (cc-by-nd-*).
	NoDerivatives LicenseClass = "no-derivatives"
	// UnknownClass: no licence stated, "other", "unknown", or an id not in
	// the table.
	UnknownClass LicenseClass = "unknown"
)

// LicenseClasses is the classification table: every class, most
// permissive first, with the Hub's licence ids (the "license:" tag, any
// letter case) it holds.
var LicenseClasses = []struct {
	Class    LicenseClass
	Licenses []string
}{
	{Permissive, []string{"apache-2.0", "mit", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "isc",
		"unlicense", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "zlib", "bsl-1.0", "artistic-2.0",
		"ecl-2.0", "wtfpl", "postgresql", "ncsa", "pddl", "odc-by", "afl-3.0", "ms-pl", "apple-ascl", "etalab-2.0",
		"cdla-permissive-1.0", "cdla-permissive-2.0", "lppl-1.3c"}},
	{Copyleft, []string{"gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "lgpl-lr", "agpl-3.0",
		"cc-by-sa-3.0", "cc-by-sa-4.0", "mpl-2.0", "epl-1.0", "epl-2.0", "eupl-1.1", "eupl-1.2", "osl-3.0", "odbl",
		"gfdl", "cdla-sharing-1.0", "ofl-1.1"}},
	{ResponsibleAI, []string{"openrail", "openrail++", "bigscience-openrail-m", "creativeml-openrail-m",
		"bigcode-openrail-m", "bigscience-bloom-rail-1.0"}},
	{Community, []string{"llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma"}},
	{NonCommercial, []string{"cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0",
		"cc-by-nc-sa-4.0", "deepfloyd-if-license", "fair-noncommercial-research-license", "apple-amlr", "h-research",
		"intel-research"}},
	{NoDerivatives, []string{"cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0"}},
}

// licenseRank is each class's place: higher is more permissive.
var licenseRank = map[LicenseClass]int{}

// licenseClass is the table by licence id.
var licenseClass = map[string]LicenseClass{}

func init() {
	for i, c := range LicenseClasses {
		licenseRank[c.Class] = len(LicenseClasses) - i
		for _, l := range c.Licenses {
			licenseClass[l] = c.Class
		}
	}
}

// NormalizeLicense is a licence id as the table spells it: trimmed, in
// lower case.
func NormalizeLicense(license string) string { return strings.ToLower(strings.TrimSpace(license)) }

// ClassifyLicense returns the class of a licence id (any letter case):
// UnknownClass for "", "other", "unknown" and ids the table does not hold.
func ClassifyLicense(license string) LicenseClass {
	if c, ok := licenseClass[NormalizeLicense(license)]; ok {
		return c
	}
	return UnknownClass
}

// LicenseChange is what an edge does to the licence, from parent to child.
type LicenseChange string

// The changes.
const (
	Kept      LicenseChange = "kept"      // the same licence id, or another of the same class
	Relaxed   LicenseChange = "relaxed"   // the child's class is more permissive
	Tightened LicenseChange = "tightened" // the child's class is less permissive
	// UnknownChange: either side's class is unknown, and the ids are not
	// the same declared licence.
	UnknownChange LicenseChange = "unknown"
)

// CompareLicenses classifies the edge from a parent declaring parent to a
// child declaring child. The same id on both sides is Kept even when the
// table does not know it, but for "", "other" and "unknown", which say
// nothing of the terms (two "other" licences may be two texts): those are
// UnknownChange, as is any pair where either side's class is unknown.
func CompareLicenses(parent, child string) LicenseChange {
	p, c := NormalizeLicense(parent), NormalizeLicense(child)
	if p == c && p != "" && p != "other" && p != "unknown" {
		return Kept
	}
	pc, cc := ClassifyLicense(p), ClassifyLicense(c)
	if pc == UnknownClass || cc == UnknownClass {
		return UnknownChange
	}
	switch pr, cr := licenseRank[pc], licenseRank[cc]; {
	case cr > pr:
		return Relaxed
	case cr < pr:
		return Tightened
	}
	return Kept
}
