package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/term"

	"github.com/hflineage/hflineage/query"
)

// cliPictureLimit is the most nodes export draws as a picture without
// --max-nodes: Graphviz's sfdp takes minutes at 20,000 and hours at
// 200,000 (the server's cap is lower: server.MaxPictureNodes).
var cliPictureLimit = 20000 // a variable for tests

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", `export [flags] --format FORMAT [--root MODEL] [-o FILE]
export [flags] [--root MODEL] -o FILE.EXT

Exports the lineage graph. With --root, MODEL, its descendants and every
edge between two of them (co-parents from outside the family are left out);
without, the whole database, streamed (with --max-nodes, its most downloaded
models with lineage and their paths). Output is deterministic (sorted), so
exports can be diffed. Nodes carry downloads, likes, createdAt, license,
library, pipeline and author; every edge its relation.

Formats:
  dot        Graphviz (edges styled per relation; --legend adds a key)
  graphml    Gephi, Cytoscape, networkx (nx.read_graphml), yEd
  gexf       Gephi's timeline, networkx (nx.read_gexf): each model and edge spans
             from its creation to the run that found it gone; removed ones kept
  json       networkx node-link (nx.node_link_graph)
  csv        edge list: parent,relation,child, then the child's attributes
  csv-nodes  node table
  svg, png,  a picture rendered by Graphviz, with a key of the relations
  pdf        (dot for small graphs, sfdp for large ones; needs the graphviz
             package); png and pdf go to -o FILE or a pipe, not a terminal

Without --format, -o FILE's extension says the format: .dot or .gv,
.graphml, .gexf, .json, .csv (.nodes.csv: csv-nodes), .svg, .png, .pdf. A
--format that contradicts the extension is refused.`, stderr)
	db := dbFlag(fs)
	format := fs.String("format", "", "output `FORMAT`: "+strings.Join(query.ExportFormats, ", ")+" (default: from -o FILE's extension)")
	root := fs.String("root", "", "export only the family of `MODEL`")
	depth := fs.Int("depth", -1, "with --root: keep members at most `N` levels below it (-1: no limit)")
	maxNodes := fs.Int("max-nodes", 0, "keep at most `N` models, the most downloaded, each with its path to the root (without --root: models with lineage, each with its path to its root) (0: all)")
	relations := fs.String("relation", "", "keep only edges of these relations (`R[,R]`: adapter, finetune, merge, quantized); with --root the family is followed through them only")
	cluster := fs.String("cluster", "", "dot, svg, png, pdf: group nodes in boxes `BY` author or relation (relation needs --root)")
	legend := fs.Bool("legend", false, "dot: draw a key of the relations under the picture (the graph's label, not nodes)")
	out := fs.String("o", "", "write to `FILE` (default stdout; not a directory)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("export: unexpected argument %q (the family is chosen with --root)", pos[0])
	}
	if *format, err = exportFormat(*format, *out); err != nil {
		return err
	}
	if !slices.Contains(query.ExportFormats, *format) {
		if near := nearest(*format, query.ExportFormats); near != "" {
			return usagef("export: unknown --format %q — did you mean %q? (%s)", *format, near, strings.Join(query.ExportFormats, ", "))
		}
	}
	rels, err := query.ParseRelations(*relations)
	if err != nil {
		return usagef("export: --relation: %v", err)
	}
	sel := query.Selection{Format: *format, Root: *root, Depth: *depth, MaxNodes: *maxNodes, Relations: rels, Cluster: *cluster, Legend: *legend}
	if !isSet(fs, "max-nodes") {
		sel.PictureLimit = cliPictureLimit // a --max-nodes given is drawn whatever its size
	}
	if err := sel.Check(); err != nil {
		return queryError(err)
	}
	if err := binaryToTerminal(sel.Format, *out, terminal(stdout)); err != nil {
		return err
	}
	if *out != "" && *out != "-" {
		if _, _, err := outputTarget("export", "-o", *out); err != nil {
			return err
		}
	}
	q, done, err := openEngine(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	in, err := q.Plan(ctx, sel)
	if err != nil {
		return queryError(err)
	}
	if in != nil {
		fmt.Fprintln(stderr, in.Warning("this export"))
	}
	sel.BeforeLayout = func(nodes int, layout string) {
		if layout == "sfdp" {
			fmt.Fprintf(stderr, "export: %d nodes: laying out with sfdp; --max-nodes 300 gives a more readable picture\n", nodes)
		}
	}
	return writeOutput("export", "-o", *out, stdout, func(w io.Writer) error {
		_, err := q.Write(ctx, sel, w)
		return queryError(err)
	})
}

// binaryToTerminal refuses, in one line, a binary format (png, pdf) bound
// for stdout when stdout is a terminal, which it would fill with garbage; a
// pipe or a file gets it.
func binaryToTerminal(format, out string, stdoutIsTerminal bool) error {
	if !stdoutIsTerminal || (out != "" && out != "-") || !(query.Selection{Format: format}).Binary() {
		return nil
	}
	return fmt.Errorf("export: %s is binary and stdout is a terminal: give -o FILE.%s, or pipe it", format, query.FileExtension(format))
}

// terminal reports whether w writes to a terminal.
func terminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && f.Fd() != ^uintptr(0) && term.IsTerminal(int(f.Fd()))
}

// writeOutput runs write on stdout, or on the file at path. A new file, or
// an existing regular one (also behind a symlink, which stays), is written
// to a temporary file renamed into place once complete, so that a failed
// export never leaves a truncated file. Anything else that exists (a FIFO, a
// device such as /dev/null, a symlink to one) is opened and written in
// place, as the shell's > would. A directory is an error.
// cmd and flag name the command and its flag in errors (export's -o,
// stats' --plot).
func writeOutput(cmd, flag, path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	target, inPlace, err := outputTarget(cmd, flag, path)
	if err != nil {
		return err
	}
	if inPlace {
		return writeInPlace(cmd, target, write)
	}
	return writeAtomically(cmd, target, write)
}

// outputTarget decides how to write to path: the file to write, and
// whether to write it in place rather than through a temporary file.
func outputTarget(cmd, flag, path string) (target string, inPlace bool, err error) {
	fi, err := os.Stat(path) // follows symlinks
	switch {
	case errors.Is(err, os.ErrNotExist):
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&os.ModeSymlink != 0 {
			return path, true, nil // a dangling symlink: > creates its target
		}
		return path, false, nil
	case err != nil:
		return "", false, fmt.Errorf("%s: %s %s: %w", cmd, flag, path, errors.Unwrap(err))
	case fi.IsDir():
		return "", false, fmt.Errorf("%s: %s %s is a directory; name a file in it", cmd, flag, path)
	case !fi.Mode().IsRegular():
		return path, true, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", false, fmt.Errorf("%s: %s %s: %w", cmd, flag, path, err)
	}
	return real, false, nil
}

// writeInPlace writes into an existing file as > would: truncated when it
// can be, not replaced.
func writeInPlace(cmd, path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}

// writeAtomically writes a temporary file beside path and renames it to
// path once complete. An existing file's permissions are kept.
func writeAtomically(cmd, path string, write func(io.Writer) error) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		// Name the file asked for, not the temporary one beside it.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s: cannot write %s: %w", cmd, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}
