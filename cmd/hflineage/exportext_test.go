package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
)

// TestExportFormatFromExtension: -o FILE's extension gives the format
// when --format is left out; a --format it contradicts is refused naming
// both; a FILE whose extension says nothing needs --format.
func TestExportFormatFromExtension(t *testing.T) {
	tests := []struct {
		format, out string
		want        string
		wantErr     string // a part of the usage error ("" for none)
	}{
		{"", "g.dot", "dot", ""},
		{"", "g.gv", "dot", ""},
		{"", "dir.v2/G.GraphML", "graphml", ""},
		{"", "g.gexf", "gexf", ""},
		{"", "g.json", "json", ""},
		{"", "g.csv", "csv", ""},
		{"", "g.nodes.csv", "csv-nodes", ""},
		{"", "g.svg", "svg", ""},
		{"", "g.PNG", "png", ""},
		{"", "g.pdf", "pdf", ""},
		{"dot", "g.gv", "dot", ""},
		{"csv-nodes", "g.csv", "csv-nodes", ""},
		{"csv", "g.nodes.csv", "csv", ""},
		{"dot", "g.txt", "dot", ""}, // a name of one's choosing, the format given
		{"dot", "", "dot", ""},
		{"", "", "", ""}, // the Selection asks for --format
		{"", "-", "", ""},
		{"png", "g.svg", "", "export: --format png contradicts -o g.svg, a svg file (svg)"},
		{"json", "g.csv", "", "export: --format json contradicts -o g.csv, a csv file (csv)"},
		{"graphml", "g.gv", "", "export: --format graphml contradicts -o g.gv, a gv file (dot)"},
		{"", "g.txt", "", "export: cannot tell the format from -o g.txt: give --format (dot, graphml, gexf, json, csv, csv-nodes, svg, png, pdf) or name the file .nodes.csv, .dot, .gv, .graphml, .gexf, .json, .csv, .svg, .png, .pdf"},
		{"", "graph", "", "cannot tell the format from -o graph"},
		{"", ".svg", "", "cannot tell the format from -o .svg"},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.out, func(t *testing.T) {
			got, err := exportFormat(tt.format, tt.out)
			switch {
			case tt.wantErr == "" && (err != nil || got != tt.want):
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %q, %v; want an error with %q", got, err, tt.wantErr)
			}
		})
	}
}

// TestExportExtensionCLI: export -o x.gv writes DOT and -o x.json
// node-link JSON without --format; a contradiction exits 2 and writes no
// file.
func TestExportExtensionCLI(t *testing.T) {
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B")

	for _, tt := range []struct{ file, prefix string }{
		{"family.gv", "digraph"},
		{"family.json", "{"},
		{"family.graphml", "<?xml"},
		{"family.nodes.csv", "id,"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			out := filepath.Join(dir, tt.file)
			if code, stdout, stderr := cli(t, "export", "--db", db, "--root", "meta-llama/Llama-3.1-8B", "-o", out); code != 0 || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil || !strings.HasPrefix(strings.TrimSpace(string(b)), tt.prefix) {
				t.Errorf("%s: %v, starts %.40q, want %q", tt.file, err, b, tt.prefix)
			}
		})
	}
	out := filepath.Join(dir, "x.svg")
	code, _, stderr := cli(t, "export", "--db", db, "--format", "png", "-o", out)
	if first, _, _ := strings.Cut(stderr, "\n"); code != exitUsage || !strings.Contains(first, "--format png contradicts -o "+out) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s written: %v", out, err)
	}
}
