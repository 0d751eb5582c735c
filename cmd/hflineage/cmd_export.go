package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

var exportFormats = []string{"dot", "graphml", "json", "csv", "csv-nodes", "svg", "png"}

// renderThreshold is the family size above which pictures are laid out
// with sfdp (force-directed, scales) rather than dot (layered, readable).
const renderThreshold = 1500

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", `export [flags] --format FORMAT [--root MODEL] [-o FILE]

Exports the lineage graph. With --root, MODEL, its descendants and every
edge between two of them (co-parents from outside the family are left out);
without, the whole database, streamed. Output is deterministic (sorted), so
exports can be diffed. Nodes carry downloads, likes, createdAt, license,
library, pipeline and author; every edge its relation.

Formats:
  dot        Graphviz (edges styled per relation, with a legend)
  graphml    Gephi, Cytoscape, networkx (nx.read_graphml), yEd
  json       networkx node-link (nx.node_link_graph)
  csv        edge list: parent,relation,child, then the child's attributes
  csv-nodes  node table
  svg, png   a picture rendered by Graphviz (dot for small families, sfdp
             for large ones; needs the graphviz package)`, stderr)
	db := dbFlag(fs)
	format := fs.String("format", "", "output `FORMAT`: "+strings.Join(exportFormats, ", "))
	root := fs.String("root", "", "export only the family of `MODEL`")
	depth := fs.Int("depth", -1, "with --root: keep members at most `N` levels below it (-1: all)")
	maxNodes := fs.Int("max-nodes", 0, "with --root: keep at most `N` members, the most downloaded, each with a path to the root (0: all)")
	relations := fs.String("relation", "", "keep only edges of these relations (`R[,R]`: adapter, finetune, merge, quantized); with --root the family is followed through them only")
	cluster := fs.String("cluster", "", "dot, svg, png: group nodes in boxes `BY` author or relation (relation needs --root)")
	out := fs.String("o", "", "write to `FILE` (default stdout; not a directory)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("export: unexpected argument %q (the family is chosen with --root)", pos[0])
	}
	switch {
	case *format == "":
		return usagef("export: --format is required (%s)", strings.Join(exportFormats, ", "))
	case !contains(exportFormats, *format):
		return usagef("export: unknown --format %q (want %s)", *format, strings.Join(exportFormats, ", "))
	}
	if *root == "" && (*depth >= 0 || *maxNodes > 0) {
		return usagef("export: --depth and --max-nodes need --root")
	}
	if *depth < -1 || *maxNodes < 0 {
		return usagef("export: --depth and --max-nodes must not be negative")
	}
	rels, err := parseRelations(*relations)
	if err != nil {
		return usagef("export: --relation: %v", err)
	}
	switch *cluster {
	case "":
	case "author", "relation":
		if *format != "dot" && *format != "svg" && *format != "png" {
			return usagef("export: --cluster goes with dot, svg or png")
		}
		if *cluster == "relation" && *root == "" {
			return usagef("export: --cluster relation needs --root")
		}
	default:
		return usagef("export: --cluster must be author or relation")
	}
	if *root != "" {
		if _, err := graph.ParseModelID(*root); err != nil {
			return usagef("%v", err)
		}
	}
	var dotBin string
	if *format == "svg" || *format == "png" {
		if _, err := exec.LookPath("dot"); err != nil {
			return errors.New("export: rendering svg/png needs Graphviz, which is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)")
		}
		dotBin = "dot"
	}

	if *out != "" && *out != "-" {
		if _, _, err := outputTarget(*out); err != nil {
			return err
		}
	}
	st, rootID, err := openWithModel(*db, *root)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := checkComplete(st, rootID, "this export", stderr); err != nil {
		return err
	}
	sel := selection{st: st, root: rootID, depth: *depth, maxNodes: *maxNodes, rels: rels, cluster: *cluster}

	if dotBin != "" {
		var dot bytes.Buffer
		var nodes int
		err := st.View(func(r *store.Reader) (err error) {
			nodes, err = sel.write(r, &dot, "dot")
			return err
		})
		if err != nil {
			return err
		}
		engine := "dot"
		extra := []string{}
		if nodes > renderThreshold {
			engine = "sfdp"
			extra = []string{"-Goverlap=prism", "-Gsplines=false", "-Goutputorder=edgesfirst"}
			fmt.Fprintf(stderr, "export: %d nodes: laying out with sfdp; --max-nodes gives a more readable picture\n", nodes)
		}
		return writeOutput(*out, stdout, func(w io.Writer) error {
			cmd := exec.CommandContext(ctx, engine, append(extra, "-T"+*format)...)
			cmd.Stdin = &dot
			cmd.Stdout = w
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("export: %s -T%s: %v: %s", engine, *format, err, oneLine(errb.String()))
			}
			return nil
		})
	}
	return writeOutput(*out, stdout, func(w io.Writer) error {
		return st.View(func(r *store.Reader) error {
			_, err := sel.write(r, w, *format)
			return err
		})
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseRelations(s string) (map[graph.Relation]bool, error) {
	if s == "" {
		return nil, nil
	}
	rels := map[graph.Relation]bool{}
	for _, part := range strings.Split(s, ",") {
		r, err := graph.ParseRelation(part)
		if err != nil {
			return nil, err
		}
		rels[r] = true
	}
	return rels, nil
}

// selection is what to export.
type selection struct {
	st       *store.Store
	root     graph.ModelID
	depth    int
	maxNodes int
	rels     map[graph.Relation]bool
	cluster  string
}

func newEncoder(format string, w io.Writer, root graph.ModelID) graph.Encoder {
	switch format {
	case "graphml":
		return graph.NewGraphMLEncoder(w)
	case "json":
		return graph.NewNodeLinkEncoder(w)
	case "csv":
		return graph.NewCSVEncoder(w)
	case "csv-nodes":
		return graph.NewCSVNodesEncoder(w)
	}
	name := "hflineage"
	if root != "" {
		name = "lineage of " + string(root)
	}
	return graph.NewDOTEncoder(w, name, root)
}

// filtered is an EdgeSource keeping only some relations.
type filtered struct {
	src  graph.EdgeSource
	rels map[graph.Relation]bool
}

func (f filtered) ChildEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	return f.src.ChildEdges(id, func(e graph.Edge) error {
		if f.rels[e.Relation] {
			return fn(e)
		}
		return nil
	})
}

// family loads the selected family: small ones by following the stored
// edges, large ones from the cached graph of every edge.
func (s selection) family(r *store.Reader) (*graph.Family, error) {
	if s.rels != nil {
		return graph.LoadFamily(filtered{r, s.rels}, s.root, s.depth)
	}
	return s.st.Family(s.root, s.depth)
}

// write encodes the selection in format and returns the number of nodes.
func (s selection) write(r *store.Reader, w io.Writer, format string) (int, error) {
	enc := newEncoder(format, w, s.root)
	if s.cluster == "author" {
		enc.(*graph.DOTEncoder).ClusterOf = func(m graph.Model) string { return authorLabel(m) }
	}
	if s.root == "" {
		return s.writeAll(r, enc)
	}
	f, err := s.family(r)
	if err != nil {
		return 0, err
	}
	if s.maxNodes > 0 && s.maxNodes < len(f.Members) {
		downloads := make(map[graph.ModelID]int64, len(f.Members))
		err := r.ModelsOf(f.Members, func(m graph.Model) error { downloads[m.ID] = m.Downloads; return nil })
		if err != nil {
			return 0, err
		}
		f = f.Prune(s.maxNodes, func(id graph.ModelID) int64 { return downloads[id] })
	}
	var less func(a, b graph.Model) bool
	switch s.cluster {
	case "author":
		less = func(a, b graph.Model) bool { return authorLabel(a) < authorLabel(b) }
	case "relation":
		rel := firstRelation(f)
		enc.(*graph.DOTEncoder).ClusterOf = func(m graph.Model) string { return rel[m.ID] }
		less = func(a, b graph.Model) bool { return rel[a.ID] < rel[b.ID] }
	}
	return len(f.Members), graph.WriteFamily(enc, f, r.ModelsOf, less)
}

func authorLabel(m graph.Model) string {
	if a := m.ID.Author(); a != "" {
		return a
	}
	return "(no organisation)"
}

// firstRelation gives each member the relation of the first edge into it
// (in sorted order) from another member; the root gets "base".
func firstRelation(f *graph.Family) map[graph.ModelID]string {
	rel := map[graph.ModelID]string{f.Root: "base"}
	for _, e := range f.Edges {
		if _, ok := rel[e.Child]; !ok && e.Parent != e.Child {
			rel[e.Child] = string(e.Relation)
		}
	}
	return rel
}

// writeAll streams the whole stored graph (the store yields it sorted).
// With a relation filter, only models touching a kept edge are written.
func (s selection) writeAll(r *store.Reader, enc graph.Encoder) (int, error) {
	var keep map[graph.ModelID]bool
	if s.rels != nil {
		keep = map[graph.ModelID]bool{}
		err := r.Edges(func(e graph.Edge) error {
			if s.rels[e.Relation] {
				keep[e.Parent], keep[e.Child] = true, true
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	nodes := 0
	err := r.Models(func(m graph.Model) error {
		if keep == nil || keep[m.ID] {
			nodes++
			enc.Node(m)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = r.Edges(func(e graph.Edge) error {
		if s.rels == nil || s.rels[e.Relation] {
			enc.Edge(e)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return nodes, enc.Close()
}

func modelOrStub(r *store.Reader, id graph.ModelID) graph.Model {
	m, err := r.Model(id)
	if err != nil {
		return graph.Model{ID: id, Stub: true}
	}
	return m
}

// writeOutput runs write on stdout, or on the file at path. A new file, or
// an existing regular one (also behind a symlink, which stays), is written
// to a temporary file renamed into place once complete, so that a failed
// export never leaves a truncated file. Anything else that exists (a FIFO, a
// device such as /dev/null, a symlink to one) is opened and written in
// place, as the shell's > would. A directory is an error.
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	target, inPlace, err := outputTarget(path)
	if err != nil {
		return err
	}
	if inPlace {
		return writeInPlace(target, write)
	}
	return writeAtomically(target, write)
}

// outputTarget decides how to write to path: the file to write, and
// whether to write it in place rather than through a temporary file.
func outputTarget(path string) (target string, inPlace bool, err error) {
	fi, err := os.Stat(path) // follows symlinks
	switch {
	case errors.Is(err, os.ErrNotExist):
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&os.ModeSymlink != 0 {
			return path, true, nil // a dangling symlink: > creates its target
		}
		return path, false, nil
	case err != nil:
		return "", false, fmt.Errorf("export: -o %s: %w", path, errors.Unwrap(err))
	case fi.IsDir():
		return "", false, fmt.Errorf("export: -o %s is a directory; name a file in it", path)
	case !fi.Mode().IsRegular():
		return path, true, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", false, fmt.Errorf("export: -o %s: %w", path, err)
	}
	return real, false, nil
}

// writeInPlace writes into an existing file as > would: truncated when it
// can be, not replaced.
func writeInPlace(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// writeAtomically writes a temporary file beside path and renames it to
// path once complete. An existing file's permissions are kept.
func writeAtomically(path string, write func(io.Writer) error) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
