package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

// TestStatsReportGrowthEveryMonth: the text report's growth bars list every
// month from the first to the last, a month without a new model as 0, as the
// plot's axis does (the report used to skip such months).
func TestStatsReportGrowthEveryMonth(t *testing.T) {
	s := graph.Stats{Root: "a/base", Growth: []graph.FamilyGrowth{{Model: "a/base", Months: []graph.MonthCount{
		{Month: "2023-09", Count: 4}, {Month: "2023-11", Count: 2}, {Month: "2024-02", Count: 1},
	}}}}
	var b bytes.Buffer
	if err := writeStatsReport(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	i := strings.Index(out, "Growth of a/base")
	if i < 0 {
		t.Fatalf("no growth block:\n%s", out)
	}
	var got []string
	for _, line := range strings.Split(out[i:], "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "20") {
			break
		}
		got = append(got, f[0]+"="+f[1])
	}
	want := []string{"2023-09=4", "2023-10=0", "2023-11=2", "2023-12=0", "2024-01=0", "2024-02=1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("growth bars %v, want %v", got, want)
	}
}

// TestPlotNeedsAPictureFile: --plot - (stdout has the report; it used to
// panic) and names other than .svg or .png are usage errors, before any
// database is opened; a directory that does not exist names the file asked
// for, not a temporary one.
func TestPlotNeedsAPictureFile(t *testing.T) {
	missing := t.TempDir() + "/no/such/dir/g.svg"
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stats", "--root", "a/b", "--plot", "-"}, 2, "stats: --plot needs a file name ending in .svg or .png"},
		{[]string{"history", "a/b", "--plot", "-"}, 2, "history: --plot needs a file name ending in .svg or .png"},
		{[]string{"stats", "--root", "a/b", "--plot", "g.jpg"}, 2, "stats: --plot g.jpg: name a .svg or .png file"},
		{[]string{"history", "a/b", "--plot", "growth"}, 2, "history: --plot growth: name a .svg or .png file"},
		{[]string{"stats", "--db", t.TempDir(), "--root", "a/b", "--plot", missing}, 1, ""},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "panic") {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
