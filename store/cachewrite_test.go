package store

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

// TestCacheWriteFailuresAreReported makes each cache file impossible to
// write (a directory stands in its place) and checks that the failure is
// told: RefreshCaches and WriteGraphCache return it, naming the file; a
// read that builds the graph itself still answers, and logs a warning;
// no temporary file is left behind.
func TestCacheWriteFailuresAreReported(t *testing.T) {
	ctx := context.Background()
	for _, file := range []string{edgeCacheFile, graphCacheFile} {
		t.Run(file, func(t *testing.T) {
			var logged bytes.Buffer
			defer func(l *slog.Logger, w io.Writer, flags int) { // SetDefault redirects package log too
				slog.SetDefault(l)
				log.SetOutput(w)
				log.SetFlags(flags)
			}(slog.Default(), log.Writer(), log.Flags())
			slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
			dir := filepath.Join(t.TempDir(), "db")
			s, err := Open(dir, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			put(t, s, []graph.Model{{ID: "a/base"}, {ID: "b/kid"}}, []graph.Edge{{Parent: "a/base", Child: "b/kid", Relation: graph.Finetune}})
			if err := os.MkdirAll(filepath.Join(dir, file, "in-the-way"), 0o755); err != nil {
				t.Fatal(err)
			}

			err = s.RefreshCaches(ctx, true)
			if err == nil || !strings.Contains(err.Error(), file) {
				t.Errorf("RefreshCaches: %v, want an error naming %s", err, file)
			}
			if file == graphCacheFile {
				g, v, err := s.VersionedGraph(ctx) // builds it, tries to write it
				if err != nil || g.NodeCount() != 2 {
					t.Fatalf("VersionedGraph: %v", err)
				}
				if err := s.WriteGraphCache(g, v); err == nil || !strings.Contains(err.Error(), file) {
					t.Errorf("WriteGraphCache: %v, want an error naming %s", err, file)
				}
			}

			if file == edgeCacheFile {
				g, err := s.CachedEdgeGraph(ctx)
				if err != nil || g.EdgeCount() != 1 {
					t.Fatalf("CachedEdgeGraph: %v", err)
				}
			} else {
				g, _, err := s.VersionedGraph(ctx)
				if err != nil || g.NodeCount() != 2 {
					t.Fatalf("VersionedGraph: %v", err)
				}
			}
			if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), file) {
				t.Errorf("a read that could not write %s logged %q", file, logged.String())
			}

			left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
