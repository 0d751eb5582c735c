package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", `export [flags] --format dot [--root MODEL] [-o FILE]

Exports the lineage graph. With --root, MODEL, its descendants and every
edge between two of them (co-parents from outside the family are left out);
without, the whole database. Output is deterministic (sorted), so exports
can be diffed. Render DOT with Graphviz: dot -Tsvg llama.dot -o llama.svg
(sfdp for large families).`, stderr)
	db := dbFlag(fs)
	format := fs.String("format", "", "output `FORMAT`: dot")
	root := fs.String("root", "", "export only the family of `MODEL`")
	depth := fs.Int("depth", -1, "with --root: keep members at most `N` levels below it (-1: all)")
	maxNodes := fs.Int("max-nodes", 0, "with --root: keep at most `N` members, the most downloaded, each with a path to the root (0: all)")
	out := fs.String("o", "", "write to `FILE` (default stdout)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("export: unexpected argument %q (the family is chosen with --root)", pos[0])
	}
	switch *format {
	case "dot":
	case "":
		return usagef("export: --format is required (dot)")
	default:
		return usagef("export: unknown --format %q (want dot)", *format)
	}
	if *root == "" && (*depth >= 0 || *maxNodes > 0) {
		return usagef("export: --depth and --max-nodes need --root")
	}
	if *depth < -1 || *maxNodes < 0 {
		return usagef("export: --depth and --max-nodes must not be negative")
	}
	if *root != "" {
		if _, err := graph.ParseModelID(*root); err != nil {
			return usagef("%v", err)
		}
	}
	st, err := openForRead(*db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	var rootID graph.ModelID
	if *root != "" {
		if rootID, err = resolve(st, *root); err != nil {
			return err
		}
	}
	return writeOutput(*out, stdout, func(w io.Writer) error {
		return st.View(func(r *store.Reader) error {
			if rootID == "" {
				return exportAllDOT(w, r)
			}
			f, err := graph.LoadFamily(r, rootID, *depth)
			if err != nil {
				return err
			}
			f = f.Prune(*maxNodes, func(id graph.ModelID) int64 { return modelOrStub(r, id).Downloads })
			return graph.WriteFamilyDOT(w, f, func(id graph.ModelID) graph.Model { return modelOrStub(r, id) })
		})
	})
}

func modelOrStub(r *store.Reader, id graph.ModelID) graph.Model {
	m, err := r.Model(id)
	if err != nil {
		return graph.Model{ID: id, Stub: true}
	}
	return m
}

// exportAllDOT streams the whole stored graph; the store yields it sorted.
func exportAllDOT(w io.Writer, r *store.Reader) error {
	enc := graph.NewDOTEncoder(w, "hflineage", "")
	if err := r.Models(func(m graph.Model) error { enc.Node(m); return nil }); err != nil {
		return err
	}
	if err := r.Edges(func(e graph.Edge) error { enc.Edge(e); return nil }); err != nil {
		return err
	}
	return enc.Close()
}

// writeOutput runs write on stdout, or on a temporary file renamed to path
// once complete, so that a failed export never leaves a truncated file.
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	tmp.Chmod(0o644)
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
