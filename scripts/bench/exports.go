package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// benchExports times the whole-database exports that benchWorld does not
// (node-link JSON, the CSV node table, DOT), each a cold process, with its
// peak RSS against issue 13's target for every whole export. The files are
// removed once measured.
func benchExports(env []string, hfl, work, label string, models int) [][]string {
	var rows [][]string
	for _, f := range []struct{ format, file string }{{"json", "all.json"}, {"csv-nodes", "all.nodes.csv"}, {"dot", "all.dot"}} {
		path := filepath.Join(work, f.file)
		s := measure(env, hfl, "export", "--format", f.format, "-o", path)
		os.Remove(path)
		rows = append(rows, []string{label, "export " + f.format + " (all)", fmtDur(s.elapsed), fmt.Sprintf("%.0f MiB", s.rssMiB),
			fmt.Sprintf("%d nodes", models), "≤ 512 MiB"})
	}
	return rows
}
