package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// networkxPython is Debian's interpreter, where python3-networkx installs.
const networkxPython = "/usr/bin/python3"

const networkxCheck = `
import json, sys
import networkx as nx
fmt, path = sys.argv[1], sys.argv[2]
if fmt == "graphml":
    g = nx.read_graphml(path, force_multigraph=True)
else:
    with open(path) as f:
        g = nx.node_link_graph(json.load(f))
out = {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "directed": g.is_directed(), "attrs": {}}
for n in sys.argv[3:]:
    d = g.nodes[n]
    out["attrs"][n] = {"downloads": int(d.get("downloads", 0)), "license": d.get("license", ""), "stub": str(d.get("stub", "")).lower(),
                       "all_time": int(d.get("downloadsAllTime", -1))}
rels = {}
for _, _, d in g.edges(data=True):
    rels[d["relation"]] = rels.get(d["relation"], 0) + 1
out["relations"] = rels
print(json.dumps(out))
`

func TestExportsLoadInNetworkxAndCSV(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 50000, Seed: 11})
	if testing.Short() {
		world = hubtest.Generate(hubtest.GenOptions{Models: 5000, Seed: 11})
	}
	srv := hubtest.NewServer(world)
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	crawlSetup(t, "--db", db, "--endpoint", srv.URL, "--all")
	// What the store holds.
	st, err := store.Open(db, store.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.LoadGraph(context.Background(), true)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	rels := map[string]int{}
	g.Edges(func(e graph.Edge) { rels[string(e.Relation)]++ })
	sample := []graph.Model{}
	for _, i := range []int{0, 1, g.Len() / 2, g.Len() - 1} {
		sample = append(sample, g.Model(i))
	}
	for i := 0; i < g.Len(); i++ {
		if g.Model(i).Stub {
			sample = append(sample, g.Model(i))
			break
		}
	}

	for _, format := range []string{"graphml", "json", "csv", "csv-nodes", "dot"} {
		path := filepath.Join(dir, "all."+format)
		if code, _, stderr := cli(t, "export", "--db", db, "--format", format, "-o", path); code != 0 {
			t.Fatalf("export %s: %s", format, stderr)
		}
	}
	// DOT carries exactly the lineage: one node statement per model, one
	// edge per edge, no legend.
	if b, err := os.ReadFile(filepath.Join(dir, "all.dot")); err != nil {
		t.Error(err)
	} else if nodes, edges := bytes.Count(b, []byte(" [label=")), bytes.Count(b, []byte(" -> ")); nodes != g.Len() || edges != g.EdgeCount() || bytes.Contains(b, []byte("legend")) {
		t.Errorf("dot: %d nodes, %d edges (legend: %v); the store has %d, %d", nodes, edges, bytes.Contains(b, []byte("legend")), g.Len(), g.EdgeCount())
	}
	// CSV: plain readers see every edge and node.
	for format, want := range map[string]int{"csv": g.EdgeCount(), "csv-nodes": g.Len()} {
		f, _ := os.Open(filepath.Join(dir, "all."+format))
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(rows)-1 != want {
			t.Errorf("%s: %d rows, %v; want %d", format, len(rows)-1, err, want)
		}
	}
	if !slices.ContainsFunc(sample, func(m graph.Model) bool { return m.DownloadsAllTime.Known && m.DownloadsAllTime.N > 0 }) {
		t.Fatalf("no sampled model has all-time downloads: %+v", sample)
	}
	// networkx reads GraphML and node-link JSON with the same counts and attributes.
	if out, err := exec.Command(networkxPython, "-c", "import networkx").CombinedOutput(); err != nil {
		t.Skipf("python3-networkx not installed (%s): GraphML and JSON not checked with networkx", strings.TrimSpace(string(out)))
	}
	for _, format := range []string{"graphml", "json"} {
		args := []string{"-c", networkxCheck, format, filepath.Join(dir, "all."+format)}
		for _, m := range sample {
			args = append(args, string(m.ID))
		}
		out, err := exec.Command(networkxPython, args...).Output()
		if err != nil {
			t.Fatalf("networkx %s: %v", format, err)
		}
		var got struct {
			Nodes, Edges int
			Directed     bool
			Attrs        map[string]struct {
				Downloads int64
				License   string
				Stub      string
				AllTime   int64 `json:"all_time"` // -1: absent
			}
			Relations map[string]int
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v: %s", format, err, out)
		}
		if got.Nodes != g.Len() || got.Edges != g.EdgeCount() || !got.Directed {
			t.Errorf("networkx %s: %d nodes, %d edges; the store has %d, %d", format, got.Nodes, got.Edges, g.Len(), g.EdgeCount())
		}
		for _, m := range sample {
			a := got.Attrs[string(m.ID)]
			allTime := int64(-1)
			if m.DownloadsAllTime.Known {
				allTime = m.DownloadsAllTime.N
			}
			if a.Downloads != m.Downloads || a.AllTime != allTime || a.License != m.License || a.Stub != map[bool]string{true: "true", false: "false"}[m.Stub] {
				t.Errorf("networkx %s: %s attributes %+v, store %+v", format, m.ID, a, m)
			}
		}
		for r, n := range rels {
			if got.Relations[r] != n {
				t.Errorf("networkx %s: %d %s edges, store %d", format, got.Relations[r], r, n)
			}
		}
		t.Logf("networkx %s: %d nodes, %d edges", format, got.Nodes, got.Edges)
	}
}

func TestExportPictures(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		// Without Graphviz the command must say which package to install.
		db := filepath.Join(t.TempDir(), "db")
		code, _, stderr := cli(t, "export", "--db", db, "--format", "svg")
		if code != 1 || !strings.Contains(stderr, "graphviz") {
			t.Errorf("exit %d, %q", code, stderr)
		}
		t.Skip("Graphviz not installed")
	}
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		format, magic string
		extra         []string
	}{
		{"svg", "<svg", nil},
		{"png", "\x89PNG", nil},
		{"pdf", "%PDF", nil},
		{"svg", "<svg", []string{"--cluster", "relation"}},
		{"svg", "<svg", []string{"--cluster", "author", "--relation", "finetune,quantized"}},
	} {
		path := filepath.Join(dir, "fam."+tc.format)
		args := append([]string{"export", "--db", db, "--format", tc.format, "--root", "meta-llama/Llama-3.1-8B", "-o", path}, tc.extra...)
		if code, _, stderr := cli(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
		b, _ := os.ReadFile(path)
		if !bytes.Contains(b[:min(len(b), 400)], []byte(tc.magic)) {
			t.Errorf("%v: not %s: %q", tc.extra, tc.format, b[:min(len(b), 80)])
		}
		// Pictures carry the relation legend.
		if tc.format == "svg" && (!bytes.Contains(b, []byte(">relation</text>")) || !bytes.Contains(b, []byte(">quantized</text>"))) {
			t.Errorf("%v: svg without the relation legend", tc.extra)
		}
	}
	// --relation follows only those relations from the root.
	code, stdout, _ := cli(t, "export", "--db", db, "--format", "csv", "--root", "meta-llama/Llama-3.1-8B", "--relation", "adapter")
	if code != 0 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stdout, "meta-llama/Llama-3.1-8B,adapter,b/lora") {
		t.Errorf("--relation adapter:\n%s", stdout)
	}
}

func TestPlots(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 3000, Seed: 4})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	for i := 0; i < 2; i++ {
		if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--all", "--snapshot-min", "10"); code != 0 {
			t.Fatal(stderr)
		}
	}
	base := "base-org-0/Base-Model-0"
	for _, args := range [][]string{
		{"stats", "--db", db, "--root", base, "--plot", filepath.Join(dir, "growth.svg")},
		{"history", "--db", db, base, "--plot", filepath.Join(dir, "history.svg")},
		{"stats", "--db", db, "--root", base, "--plot", filepath.Join(dir, "growth.png")},
		{"history", "--db", db, base, "--plot", filepath.Join(dir, "history.png")},
	} {
		if code, _, stderr := cli(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
		b, err := os.ReadFile(args[len(args)-1])
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(args[len(args)-1], ".png") {
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s --plot .png: %v", args[0], err)
			}
			continue
		}
		// Well-formed XML with a title, axes, every month's label and a legend.
		dec := xmlDecoder(b)
		var texts []string
		inText := false
		for {
			tok, err := dec.Token()
			if err != nil {
				if err != io.EOF {
					t.Errorf("%s: not well-formed: %v", args[0], err)
				}
				break
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				inText = tok.Name.Local == "text"
			case xml.CharData:
				if inText {
					texts = append(texts, strings.TrimSpace(string(tok)))
				}
			case xml.EndElement:
				inText = false
			}
		}
		all := strings.Join(texts, "\n")
		for _, want := range []string{base, "descendants"} {
			if !strings.Contains(all, want) {
				t.Errorf("%s plot lacks %q", args[0], want)
			}
		}
		if !bytes.Contains(b, []byte("<path")) {
			t.Errorf("%s plot draws no line", args[0])
		}
		switch args[0] {
		case "stats":
			var months []string
			for _, s := range texts {
				if _, err := time.Parse("2006-01", s); err == nil {
					months = append(months, s)
				}
			}
			for i := 1; i < len(months); i++ {
				prev, _ := time.Parse("2006-01", months[i-1])
				if want := prev.AddDate(0, 1, 0).Format("2006-01"); months[i] != want {
					t.Errorf("growth plot: %s follows %s, want %s", months[i], months[i-1], want)
				}
			}
			if len(months) < 12 || !strings.Contains(all, "new that month") || !strings.Contains(all, "family size (cumulative)") {
				t.Errorf("growth plot: %d months, legend in %q", len(months), texts)
			}
		case "history":
			for _, want := range []string{"run 1 · ", "run 2 · ", "total", "adapter", "finetune", "merge", "quantized"} {
				if !strings.Contains(all, want) {
					t.Errorf("history plot lacks %q", want)
				}
			}
		}
	}
}

func xmlDecoder(b []byte) *xml.Decoder { return xml.NewDecoder(bytes.NewReader(b)) }

func TestBinaryToTerminal(t *testing.T) {
	for _, tc := range []struct {
		format, out string
		terminal    bool
		refused     bool
	}{
		{"png", "", true, true},
		{"png", "-", true, true},
		{"pdf", "", true, true},
		{"png", "", false, false}, // a pipe or a file
		{"png", "fam.png", true, false},
		{"svg", "", true, false}, // text
		{"dot", "", true, false},
	} {
		err := binaryToTerminal(tc.format, tc.out, tc.terminal)
		if (err != nil) != tc.refused {
			t.Errorf("%s -o %q, terminal %v: %v", tc.format, tc.out, tc.terminal, err)
		}
		if err != nil && (strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "-o FILE."+tc.format) || !strings.Contains(err.Error(), "pipe")) {
			t.Errorf("%s: hint %q", tc.format, err)
		}
	}
}

// TestExportPNGToTerminal runs export with stdout on a pseudo-terminal, as
// main gives it: png and pdf are refused with a one-line hint and nothing
// is written; piped, the PNG goes through.
func TestExportPNGToTerminal(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz not installed")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	srv := hubtest.NewServer(testWorld())
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "meta-llama/Llama-3.1-8B"); code != 0 {
		t.Fatal(stderr)
	}
	ctx := context.Background()
	for _, format := range []string{"png", "pdf"} {
		var errb bytes.Buffer
		err := run(ctx, []string{"export", "--db", db, "--format", format, "--root", "meta-llama/Llama-3.1-8B"}, newInterruptibleWriter(ctx, tty), &errb)
		code := exitCode(err, &errb)
		want := "hflineage: export: " + format + " is binary and stdout is a terminal: give -o FILE." + format + ", or pipe it\n"
		if code != 1 || errb.String() != want {
			t.Errorf("%s to a terminal: exit %d, stderr %q; want 1, %q", format, code, errb.String(), want)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	err = run(ctx, []string{"export", "--db", db, "--format", "png", "--root", "meta-llama/Llama-3.1-8B"}, newInterruptibleWriter(ctx, w), io.Discard)
	w.Close()
	if b := <-got; err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("png to a pipe: %v, %q", err, b[:min(len(b), 8)])
	}
	// Nothing reached the terminal.
	tty.Close()
	rest, _ := io.ReadAll(ptmx)
	if len(rest) > 0 {
		t.Errorf("the terminal got %q", rest[:min(len(rest), 40)])
	}
}

// TestExportFlags: what --depth accepts, and --max-nodes on the whole
// database of a generated world (what the sfdp hint suggests).
func TestExportFlags(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 3000, Seed: 6})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, "--all"); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr := cli(t, "export", "--db", db, "--format", "dot", "--root", "base-org-0/Base-Model-0", "--depth", "-7")
	if code != 2 || !strings.HasPrefix(stderr, "hflineage: export: --depth must be -1 (no limit) or ≥ 0, not -7\n") {
		t.Errorf("--depth -7: exit %d, %q", code, stderr)
	}
	code, stdout, stderr := cli(t, "export", "--db", db, "--format", "csv-nodes", "--max-nodes", "100")
	if rows := strings.Count(stdout, "\n") - 1; code != 0 || rows > 100 || rows < 90 {
		t.Errorf("--max-nodes 100 without --root: exit %d, %d models: %s", code, rows, stderr)
	}
	code, stdout, _ = cli(t, "export", "--db", db, "--format", "dot", "--max-nodes", "50", "--legend")
	if nodes := strings.Count(stdout, " [label="); code != 0 || nodes > 50 || !strings.Contains(stdout, "relation legend") {
		t.Errorf("dot --max-nodes 50 --legend: exit %d, %d node statements", code, nodes)
	}
	code, _, stderr = cli(t, "export", "--db", db, "--format", "csv", "--legend")
	if code != 2 || !strings.Contains(stderr, "--legend goes with dot") {
		t.Errorf("csv --legend: exit %d, %q", code, stderr)
	}
}

// TestREADMEExportExamples runs the examples of the export section of
// docs/reference.md on the recorded Llama-2-7b tree (stdout on a
// pseudo-terminal, as at a shell prompt) and compares what they print byte
// for byte; files named with -o are written into a temporary directory and
// checked by type.
func TestREADMEExportExamples(t *testing.T) {
	section := referenceSection(t, "export")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```\n(\\$ hflineage export.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatal("no export example in docs/reference.md")
	}
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz not installed")
	}
	path, ok := recordingPath("Llama-2-7b_finetunes_20250422_180448.json")
	if !ok {
		t.Skip("the recorded Llama-2-7b tree is absent or hidden")
	}
	tr, err := hubtest.ReadTree(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := hubtest.NewServer(tr.World())
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if code, _, stderr := cli(t, "crawl", "--db", db, "--endpoint", srv.URL, tr.Root); code != 0 {
		t.Fatal(stderr)
	}
	magic := map[string]string{".png": "\x89PNG", ".svg": "<svg", ".pdf": "%PDF", ".graphml": "<?xml", ".dot": "digraph"}
	for _, block := range blocks {
		// Each "$ " line is a command, the lines up to the next its output.
		for _, ex := range strings.Split(strings.TrimPrefix(block, "$ "), "\n$ ") {
			command, want, _ := strings.Cut(ex, "\n")
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n" // the split took it
			}
			command, _, _ = strings.Cut(command, "#") // a shell comment
			command = strings.TrimSpace(command)
			t.Run(command, func(t *testing.T) {
				args := strings.Fields(command)[1:]
				out := ""
				for i := range args {
					if args[i] == "-o" && i+1 < len(args) {
						out = filepath.Join(dir, args[i+1])
						args[i+1] = out
					}
				}
				ptmx, tty, err := pty.Open()
				if err != nil {
					t.Skipf("no pseudo-terminal: %v", err)
				}
				defer ptmx.Close()
				ctx := context.Background()
				var errb bytes.Buffer
				err = run(ctx, append(args, "--db", db), newInterruptibleWriter(ctx, tty), &errb)
				exitCode(err, &errb)
				tty.Close()
				if got := errb.String(); got != want {
					t.Errorf("docs/reference.md shows\n%s\nthe command prints\n%s", want, got)
				}
				if rest, _ := io.ReadAll(ptmx); len(rest) > 0 {
					t.Errorf("the terminal got %q", rest[:min(len(rest), 40)])
				}
				if out != "" {
					b, err := os.ReadFile(out)
					if err != nil || !bytes.Contains(b[:min(len(b), 400)], []byte(magic[filepath.Ext(out)])) {
						t.Errorf("%s: %v, starts %q", out, err, b[:min(len(b), 8)])
					}
				}
			})
		}
	}
}
