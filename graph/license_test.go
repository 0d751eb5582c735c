package graph

import (
	"os"
	"strings"
	"testing"
)

func TestClassifyLicense(t *testing.T) {
	for _, c := range []struct {
		license string
		want    LicenseClass
	}{
		{"apache-2.0", Permissive}, {"Apache-2.0", Permissive}, {" MIT ", Permissive}, {"cc-by-4.0", Permissive},
		{"cc0-1.0", Permissive}, {"bsd-3-clause", Permissive},
		{"gpl-3.0", Copyleft}, {"cc-by-sa-4.0", Copyleft}, {"agpl-3.0", Copyleft}, {"mpl-2.0", Copyleft},
		{"openrail", ResponsibleAI}, {"creativeml-openrail-m", ResponsibleAI}, {"openrail++", ResponsibleAI},
		{"llama2", Community}, {"llama3", Community}, {"llama3.1", Community}, {"llama3.2", Community},
		{"llama3.3", Community}, {"llama4", Community}, {"gemma", Community}, {"LLAMA3.1", Community},
		{"cc-by-nc-4.0", NonCommercial}, {"cc-by-nc-sa-4.0", NonCommercial}, {"fair-noncommercial-research-license", NonCommercial},
		{"cc-by-nd-4.0", NoDerivatives}, {"cc-by-nc-nd-4.0", NoDerivatives},
		{"", UnknownClass}, {"other", UnknownClass}, {"unknown", UnknownClass}, {"my-own-license", UnknownClass},
		{"llama3.4", UnknownClass}, {"cc", UnknownClass},
	} {
		if got := ClassifyLicense(c.license); got != c.want {
			t.Errorf("ClassifyLicense(%q) = %s, want %s", c.license, got, c.want)
		}
	}
}

func TestCompareLicenses(t *testing.T) {
	for _, c := range []struct {
		parent, child string
		want          LicenseChange
	}{
		// Kept: the same id, or the same class.
		{"llama3.1", "llama3.1", Kept}, {"apache-2.0", "Apache-2.0", Kept}, {"mit", "apache-2.0", Kept},
		{"llama3", "llama3.1", Kept}, {"llama2", "gemma", Kept}, {"cc-by-nc-4.0", "cc-by-nc-sa-4.0", Kept},
		{"my-own-license", "my-own-license", Kept}, // the same declared licence, whatever it is
		// Relaxed: a more permissive class.
		{"llama2", "apache-2.0", Relaxed}, {"llama3.1", "mit", Relaxed}, {"gemma", "apache-2.0", Relaxed},
		{"llama4", "openrail", Relaxed}, {"llama3.3", "gpl-3.0", Relaxed}, {"gpl-3.0", "mit", Relaxed},
		{"cc-by-nc-4.0", "llama3", Relaxed}, {"cc-by-nc-4.0", "apache-2.0", Relaxed}, {"cc-by-nd-4.0", "cc-by-nc-4.0", Relaxed},
		{"openrail", "apache-2.0", Relaxed},
		// Tightened: a less permissive class.
		{"apache-2.0", "llama3", Tightened}, {"mit", "cc-by-nc-4.0", Tightened}, {"apache-2.0", "cc-by-nc-sa-4.0", Tightened},
		{"apache-2.0", "gpl-3.0", Tightened}, {"openrail", "llama2", Tightened}, {"llama3.1", "cc-by-nc-4.0", Tightened},
		{"cc-by-nc-4.0", "cc-by-nc-nd-4.0", Tightened},
		// Unknown: missing, "other", "unknown" or not in the table.
		{"", "apache-2.0", UnknownChange}, {"llama3", "", UnknownChange}, {"", "", UnknownChange},
		{"other", "other", UnknownChange}, {"unknown", "unknown", UnknownChange}, {"llama3", "other", UnknownChange},
		{"my-own-license", "mit", UnknownChange}, {"apache-2.0", "my-own-license", UnknownChange},
	} {
		if got := CompareLicenses(c.parent, c.child); got != c.want {
			t.Errorf("CompareLicenses(%q, %q) = %s, want %s", c.parent, c.child, got, c.want)
		}
	}
}

// TestLicenseTable: every id is in one class, in the normal form.
func TestLicenseTable(t *testing.T) {
	seen := map[string]LicenseClass{}
	for _, c := range LicenseClasses {
		if c.Class == UnknownClass {
			t.Errorf("the table holds the unknown class")
		}
		for _, l := range c.Licenses {
			if prev, ok := seen[l]; ok {
				t.Errorf("%s is %s and %s", l, prev, c.Class)
			}
			seen[l] = c.Class
			if NormalizeLicense(l) != l {
				t.Errorf("%q is not in normal form", l)
			}
		}
	}
}

// TestLicenseTableDocumented: docs/reference.md prints the table as it is.
func TestLicenseTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			class, _, _ := strings.Cut(rest, "`")
			rows[class] = line
		}
	}
	for _, c := range LicenseClasses {
		row, ok := rows[string(c.Class)]
		if !ok {
			t.Errorf("docs/reference.md has no row for %s", c.Class)
			continue
		}
		var ids []string
		for _, l := range c.Licenses {
			ids = append(ids, "`"+l+"`")
		}
		if !strings.HasSuffix(row, "| "+strings.Join(ids, ", ")+" |") {
			t.Errorf("docs/reference.md's row for %s does not list %s:\n%s", c.Class, strings.Join(ids, ", "), row)
		}
	}
}
