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
