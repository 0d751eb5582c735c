package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// ExportFormats are the formats Export writes.
var ExportFormats = []string{"dot", "graphml", "gexf", "json", "csv", "csv-nodes", "svg", "png", "pdf"}

// ContentType is the media type of an export format.
func ContentType(format string) string {
	switch format {
	case "dot":
		return "text/vnd.graphviz; charset=utf-8"
	case "graphml":
		return "application/graphml+xml; charset=utf-8"
	case "gexf":
		return "application/gexf+xml; charset=utf-8"
	case "json":
		return "application/json"
	case "csv", "csv-nodes":
		return "text/csv; charset=utf-8"
	case "svg":
		return "image/svg+xml"
	case "png":
		return "image/png"
	case "pdf":
		return "application/pdf"
	}
	return "application/octet-stream"
}

// FileExtension is the usual file name extension of an export format.
func FileExtension(format string) string {
	switch format {
	case "csv-nodes":
		return "nodes.csv"
	case "json":
		return "json"
	}
	return format
}

// ErrNoGraphviz: svg, png and pdf need Graphviz's dot, which is not installed.
var ErrNoGraphviz = errors.New("rendering svg/png/pdf needs Graphviz, which is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)")

// RenderThreshold is the family size above which pictures are laid out
// with sfdp (force-directed, scales) rather than dot (layered, readable).
const RenderThreshold = 1500

// Selection is what to export.
type Selection struct {
	Format string // one of ExportFormats
	// Root restricts the export to a family: the model, its descendants and
	// every edge between two of them. "": the whole database, streamed.
	Root string
	// Depth keeps members at most this many levels below Root (-1: all).
	Depth int
	// MaxNodes keeps at most this many models, the most downloaded, each
	// with a path to the root; without Root, of the models with lineage,
	// each with a path to its own root (graph.Graph.Prune) (0: all).
	MaxNodes int
	// Relations keeps only edges of these relations (nil: all); with Root
	// the family is followed through them only.
	Relations map[graph.Relation]bool
	// Cluster groups DOT nodes in boxes by "author" or "relation" ("": none).
	Cluster string
	// Legend draws a key of the relations' edge styles in DOT output (the
	// graph's label, not nodes). Pictures always have it; DOT without it
	// carries exactly the lineage and nothing else.
	Legend bool
	// BeforeLayout, if set, is told the size of a picture and the Graphviz
	// engine chosen for it before the layout starts (sfdp can take long).
	BeforeLayout func(nodes int, layout string)
	// PictureLimit, if not 0, refuses (ErrInvalid) a picture of more
	// nodes before Graphviz starts: sfdp lays out 200,000 nodes for hours.
	PictureLimit int
}

// ParseRelations reads a comma-separated list of relations ("" : nil, all).
func ParseRelations(s string) (map[graph.Relation]bool, error) {
	if s == "" {
		return nil, nil
	}
	rels := map[graph.Relation]bool{}
	for _, part := range strings.Split(s, ",") {
		r, err := graph.ParseRelation(part)
		if err != nil {
			return nil, invalidf("%v", err)
		}
		rels[r] = true
	}
	return rels, nil
}

// Check validates a selection without reading the database; its errors
// are ErrInvalid (or ErrNoGraphviz).
func (s Selection) Check() error {
	switch {
	case s.Format == "":
		return invalidf("export: --format is required (%s)", strings.Join(ExportFormats, ", "))
	case !slices.Contains(ExportFormats, s.Format):
		return invalidf("export: unknown --format %q (want %s)", s.Format, strings.Join(ExportFormats, ", "))
	}
	switch {
	case s.Depth < -1:
		return invalidf("export: --depth must be -1 (no limit) or ≥ 0, not %d", s.Depth)
	case s.MaxNodes < 0:
		return invalidf("export: --max-nodes must be 0 (no limit) or more, not %d", s.MaxNodes)
	case s.Root == "" && s.Depth >= 0:
		return invalidf("export: --depth needs --root")
	case s.Legend && s.Format != "dot":
		return invalidf("export: --legend goes with dot (svg, png and pdf always have one)")
	}
	switch s.Cluster {
	case "":
	case "author", "relation":
		if s.Format != "dot" && !s.Picture() {
			return invalidf("export: --cluster goes with dot, svg, png or pdf")
		}
		if s.Cluster == "relation" && s.Root == "" {
			return invalidf("export: --cluster relation needs --root")
		}
	default:
		return invalidf("export: --cluster must be author or relation")
	}
	if s.Root != "" {
		// As in Diff: the strict rule speaks in Resolve, for a root the
		// database does not hold.
		if _, err := graph.ParseListedID(s.Root); err != nil {
			return invalidf("%v", err)
		}
	}
	if s.Picture() && !GraphvizInstalled() {
		return fmt.Errorf("export: %w", ErrNoGraphviz)
	}
	return nil
}

// GraphvizInstalled reports whether Graphviz's dot is on the PATH: svg,
// png and pdf exports need it.
func GraphvizInstalled() bool {
	_, err := exec.LookPath("dot")
	return err == nil
}

// Picture reports whether the format is rendered by Graphviz.
func (s Selection) Picture() bool { return s.Format == "svg" || s.Format == "png" || s.Format == "pdf" }

// Binary reports whether the format is binary (png, pdf): not for a terminal.
func (s Selection) Binary() bool { return s.Format == "png" || s.Format == "pdf" }

// Export is the outcome of an export.
type Export struct {
	Nodes  int    // nodes written
	Layout string // for pictures: the Graphviz engine that laid it out (dot or sfdp)
	// Incomplete says which crawl left the exported graph partial (nil if none).
	Incomplete *Incomplete
}

// Plan resolves the selection's root and says whether the last crawl of
// what it exports completed; call it before Write to warn early.
func (e *Engine) Plan(ctx context.Context, s Selection) (*Incomplete, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	root, err := e.resolveOptional(ctx, s.Root)
	if err != nil {
		return nil, err
	}
	return e.incomplete(ctx, root)
}

// Write encodes the selection to w. Output is deterministic (sorted). A
// picture is laid out by Graphviz (sfdp above RenderThreshold nodes, else
// dot); when ctx ends, Graphviz is killed and ctx's error returned.
func (e *Engine) Write(ctx context.Context, s Selection, w io.Writer) (Export, error) {
	if err := s.Check(); err != nil {
		return Export{}, err
	}
	root, err := e.resolveOptional(ctx, s.Root)
	if err != nil {
		return Export{}, err
	}
	x := Export{}
	if !s.Picture() {
		err := e.st.View(ctx, func(r *store.Reader) (err error) {
			x.Nodes, err = e.encode(ctx, r, s, root, w, s.Format)
			return err
		})
		if cerr := ctx.Err(); cerr != nil {
			return x, cerr
		}
		return x, err
	}
	var dot bytes.Buffer
	if err := e.st.View(ctx, func(r *store.Reader) (err error) {
		x.Nodes, err = e.encode(ctx, r, s, root, &dot, "dot")
		return err
	}); err != nil {
		return x, err
	}
	if s.PictureLimit > 0 && x.Nodes > s.PictureLimit {
		return x, invalidf("export: a picture of %d nodes would take Graphviz hours: keep the most downloaded with --max-nodes N (300 reads well; any N you ask for is drawn), or export --format dot", x.Nodes)
	}
	x.Layout = "dot"
	var extra []string
	if x.Nodes > RenderThreshold {
		x.Layout = "sfdp"
		extra = []string{"-Goverlap=prism", "-Gsplines=false", "-Goutputorder=edgesfirst"}
	}
	if s.BeforeLayout != nil {
		s.BeforeLayout(x.Nodes, x.Layout)
	}
	cmd := exec.CommandContext(ctx, x.Layout, append(extra, "-T"+s.Format)...)
	cmd.Stdin = &dot
	cmd.Stdout = w
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		if cerr := stoppedBy(ctx, err); cerr != nil {
			return x, cerr
		}
		return x, fmt.Errorf("export: %s -T%s: %v: %s", x.Layout, s.Format, err, firstLine(errb.String()))
	}
	if err := ctx.Err(); err != nil {
		// Graphviz may end its output and exit 0 on the Ctrl-C that ended
		// ctx (the terminal signals the whole group): a picture of an
		// interrupted export is not kept.
		return x, err
	}
	return x, nil
}

// signalGrace is how long Write waits for ctx to end after Graphviz died
// of a signal that this process did not send.
const signalGrace = 500 * time.Millisecond

// stoppedBy returns ctx's error when Graphviz failed because ctx ended. A
// Ctrl-C in a terminal signals the whole process group: Graphviz may die
// of it before this process's ctx ends, so a Graphviz killed by a signal
// waits a moment for ctx.
func stoppedBy(ctx context.Context, runErr error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) || ee.ExitCode() != -1 { // -1: killed by a signal
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(signalGrace):
		return nil
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func newEncoder(format string, w io.Writer, root graph.ModelID, legend bool) graph.Encoder {
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
	enc := graph.NewDOTEncoder(w, name, root)
	if legend {
		enc.Legend()
	}
	return enc
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

// selectFamily loads the family a selection exports (its Root must be
// resolved): small ones by following the stored edges, large ones from the
// cached graph of every edge; pruned to MaxNodes.
func (e *Engine) selectFamily(ctx context.Context, r *store.Reader, s Selection, root graph.ModelID) (*graph.Family, error) {
	var f *graph.Family
	var err error
	if s.Relations != nil {
		f, err = graph.LoadFamily(ctx, filtered{r, s.Relations}, root, s.Depth)
	} else {
		f, err = e.family(ctx, root, s.Depth)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.MaxNodes > 0 && s.MaxNodes < len(f.Members) {
		downloads := make(map[graph.ModelID]int64, len(f.Members))
		err := r.ModelsOf(f.Members, func(m graph.Model) error { downloads[m.ID] = m.Downloads; return ctx.Err() })
		if err != nil {
			return nil, err
		}
		return f.Prune(ctx, s.MaxNodes, func(id graph.ModelID) int64 { return downloads[id] })
	}
	return f, nil
}

// encode writes the selection in format and returns the number of nodes.
func (e *Engine) encode(ctx context.Context, r *store.Reader, s Selection, root graph.ModelID, w io.Writer, format string) (int, error) {
	if format == "gexf" {
		return e.encodeTimeline(ctx, r, s, root, w)
	}
	enc := newEncoder(format, w, root, s.Legend || s.Picture())
	if s.Cluster == "author" {
		enc.(*graph.DOTEncoder).ClusterOf = func(m graph.Model) string { return authorLabel(m) }
	}
	var f *graph.Family
	var err error
	switch {
	case root == "" && s.MaxNodes == 0:
		return e.writeAll(ctx, r, s, enc)
	case root == "":
		f, err = e.pruneAll(ctx, s)
	default:
		f, err = e.selectFamily(ctx, r, s, root)
	}
	if err != nil {
		return 0, err
	}
	var less func(a, b graph.Model) bool
	switch s.Cluster {
	case "author":
		less = func(a, b graph.Model) bool { return authorLabel(a) < authorLabel(b) }
	case "relation":
		rel := firstRelation(f)
		enc.(*graph.DOTEncoder).ClusterOf = func(m graph.Model) string { return rel[m.ID] }
		less = func(a, b graph.Model) bool { return rel[a.ID] < rel[b.ID] }
	}
	models := r.ModelsOf
	if format == "dot" && len(f.Members) > nodeTableAbove {
		t, release, err := e.st.NodeTable(ctx)
		if err != nil {
			return 0, err
		}
		if t != nil {
			defer release()
			models = nodeAttrs(t)
		}
	}
	return len(f.Members), graph.WriteFamily(ctx, enc, f, models, less)
}

// nodeTableAbove is the family size above which a DOT export reads its
// members' attributes from graph.bin (store.NodeTable) rather than from
// their records: a seek costs more than a bisection of the file, and DOT
// needs only what graph.bin keeps (downloads, likes, stub).
const nodeTableAbove = 4096

// nodeAttrs reads members from t as Reader.ModelsOf reads their records,
// with the attributes graph.bin keeps (stubs for ids it does not know).
func nodeAttrs(t *graph.NodeTable) func(ids []graph.ModelID, fn func(graph.Model) error) error {
	return func(ids []graph.ModelID, fn func(graph.Model) error) error {
		for _, id := range ids {
			m := graph.Model{ID: id, Stub: true}
			if n, ok := t.Find(id); ok {
				m = graph.Model{ID: id, Author: n.Author, License: n.License, Downloads: n.Downloads, Likes: n.Likes, CreatedAt: n.CreatedAt(), Stub: n.Stub}
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		return nil
	}
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

// pruneAll prunes the whole graph to the selection's MaxNodes most
// downloaded models, each with its path to its root (graph.Graph.Prune).
func (e *Engine) pruneAll(ctx context.Context, s Selection) (*graph.Family, error) {
	v, err := e.view(ctx) // a live Engine's latest view: never built here
	if err != nil {
		return nil, err
	}
	g := v.g
	weight := func(i int) int64 {
		if g.Nodes == nil {
			return 0
		}
		return g.Nodes[i].Downloads
	}
	var keep func(graph.Relation) bool
	if s.Relations != nil {
		keep = func(r graph.Relation) bool { return s.Relations[r] }
	}
	return g.Prune(ctx, s.MaxNodes, weight, keep)
}

// rowAttrs is what a CSV edge row shows of an endpoint.
type rowAttrs struct {
	author, license, library, pipeline string
	downloads, likes                   int64
	created                            time.Time
}

// writeAll streams the whole stored graph (the store yields it sorted).
// With a relation filter, only models touching a kept edge are written.
// The CSV edge list keeps what its rows show of the models with an edge
// (a third of them on the Hub), read in one pass in key order.
func (e *Engine) writeAll(ctx context.Context, r *store.Reader, s Selection, enc graph.Encoder) (int, error) {
	// Badger reads its files in place: every so often the pages read are
	// handed back, so that the process does not keep the whole database.
	keys := 0
	step := func() error {
		if keys++; keys >= store.ReleaseEvery {
			keys = 0
			e.st.ReleaseTablePages()
		}
		return ctx.Err()
	}
	defer e.st.ReleaseTablePages()
	var keep map[graph.ModelID]bool
	if s.Relations != nil {
		keep = map[graph.ModelID]bool{}
		err := r.Edges(func(e graph.Edge) error {
			if s.Relations[e.Relation] {
				keep[e.Parent], keep[e.Child] = true, true
			}
			return step()
		})
		if err != nil {
			return 0, err
		}
	}
	nodes := 0
	var err error
	if c, ok := enc.(*graph.CSVEncoder); ok {
		// The rows need the attributes of every child and the license of
		// every parent: the ids are gathered from the edges (keys only),
		// then one pass over the records in order keeps what the rows
		// need of them. Sequential reads, where a lookup per row would
		// seek all over the database.
		attrs := map[string]*rowAttrs{}
		err = r.Edges(func(e graph.Edge) error {
			if s.Relations == nil || s.Relations[e.Relation] {
				if attrs[string(e.Parent)] == nil {
					attrs[string(e.Parent)] = &rowAttrs{}
				}
				if attrs[string(e.Child)] == nil {
					attrs[string(e.Child)] = &rowAttrs{}
				}
			}
			return step()
		})
		if err != nil {
			return 0, err
		}
		intern := map[string]string{}
		str := func(s string) string {
			if x, ok := intern[s]; ok {
				return x
			}
			intern[s] = s
			return s
		}
		want := func(id []byte) bool {
			if keep == nil || keep[graph.ModelID(id)] {
				nodes++
			}
			return attrs[string(id)] != nil
		}
		err = r.ModelsWhere(want, func(m graph.Model) error {
			*attrs[string(m.ID)] = rowAttrs{str(m.Author), str(m.License), str(m.LibraryName), str(m.PipelineTag), m.Downloads, m.Likes, m.CreatedAt}
			return step()
		})
		c.Lookup = func(id graph.ModelID) (graph.Model, error) {
			a := attrs[string(id)]
			if a == nil {
				return graph.Model{}, nil
			}
			return graph.Model{ID: id, Author: a.author, License: a.license, LibraryName: a.library, PipelineTag: a.pipeline,
				Downloads: a.downloads, Likes: a.likes, CreatedAt: a.created}, nil
		}
	} else {
		err = r.Models(func(m graph.Model) error {
			if keep == nil || keep[m.ID] {
				nodes++
				enc.Node(m)
			}
			return step()
		})
	}
	if err != nil {
		return 0, err
	}
	err = r.Edges(func(e graph.Edge) error {
		if s.Relations == nil || s.Relations[e.Relation] {
			enc.Edge(e)
		}
		return step()
	})
	if err != nil {
		return 0, err
	}
	return nodes, enc.Close()
}
