package query

import (
	"cmp"
	"context"
	"slices"

	"github.com/hflineage/hflineage/graph"
)

// Licence paths: for a family or an ecosystem, what each parent→child edge
// does to the licence (graph.CompareLicenses: kept, relaxed, tightened or
// unknown), counted per parent licence, and the paths from a root to the
// most downloaded derivatives that relaxed their parent's licence.

// LicenseOptions choose what Licenses describes.
type LicenseOptions struct {
	// Model is a model id (its family) or an ecosystem spec (IsEcosystem).
	Model string
	// Top bounds the relaxed offenders listed (default 10).
	Top int
	// Edges lists every edge whose licence id changes (ChangedEdges).
	Edges bool
}

// MaxLicenseTop bounds LicenseOptions.Top.
const MaxLicenseTop = 1000

// LicenseChanges counts edges by graph.LicenseChange.
type LicenseChanges struct {
	Kept      int `json:"kept"`
	Relaxed   int `json:"relaxed"`
	Tightened int `json:"tightened"`
	Unknown   int `json:"unknown"`
}

func (c *LicenseChanges) add(ch graph.LicenseChange, n int) {
	switch ch {
	case graph.Kept:
		c.Kept += n
	case graph.Relaxed:
		c.Relaxed += n
	case graph.Tightened:
		c.Tightened += n
	default:
		c.Unknown += n
	}
}

// ParentLicense is what the edges out of parents declaring one licence do.
type ParentLicense struct {
	License string             `json:"license"` // normalised (lower case); "" for none
	Class   graph.LicenseClass `json:"class"`
	Edges   int                `json:"edges"`
	LicenseChanges
	// To lists the children's licences, most edges first: the row of the
	// from → to matrix.
	To []ChildLicense `json:"to"`
}

// ChildLicense is one cell of the from → to matrix.
type ChildLicense struct {
	License string              `json:"license"`
	Class   graph.LicenseClass  `json:"class"`
	Change  graph.LicenseChange `json:"change"`
	Edges   int                 `json:"edges"`
}

// LicensedModel is a model and its licence.
type LicensedModel struct {
	Model   graph.ModelID      `json:"model"`
	License string             `json:"license"`
	Class   graph.LicenseClass `json:"class"`
}

// Offender is a derivative that relaxed a parent's licence.
type Offender struct {
	LicensedModel
	Downloads int64 `json:"downloads"`
	// Parents are the parents whose licence it relaxed, by id.
	Parents []LicensedModel `json:"parents"`
	// Path runs from a root to the model, through the nearest of
	// Parents, each model with its licence.
	Path []LicensedModel `json:"path"`
}

// LicenseEdge is an edge and what it does to the licence.
type LicenseEdge struct {
	Parent   graph.ModelID       `json:"parent"`
	Child    graph.ModelID       `json:"child"`
	Relation graph.Relation      `json:"relation"`
	From     string              `json:"from"`
	To       string              `json:"to"`
	Change   graph.LicenseChange `json:"change"`
}

// LicenseAncestor is an ancestor, its distance and its licence.
type LicenseAncestor struct {
	LicensedModel
	Distance int `json:"distance"`
}

// LicenseAncestry is where a model's licence comes from: its ancestors'
// licences, nearest first, and every edge between them classified.
type LicenseAncestry struct {
	LicensedModel
	Ancestors []LicenseAncestor `json:"ancestors"`
	Edges     []LicenseEdge     `json:"edges"`
}

// LicensePaths is licenses --json.
type LicensePaths struct {
	Model     graph.ModelID `json:"model,omitempty"`     // a family's root
	Ecosystem string        `json:"ecosystem,omitempty"` // or an ecosystem's spec
	Matched   int           `json:"matched"`             // roots
	Members   int           `json:"members"`             // derivatives (never a root)
	// Edges counts the edges into members from a root or another member
	// (a self-loop aside; a parent and child joined by several relations
	// once): each is classified in Changes.
	Edges   int            `json:"edges"`
	Changes LicenseChanges `json:"changes"`
	// ByParent counts the edges per parent licence, most edges first.
	ByParent []ParentLicense `json:"by_parent"`
	// Offenders are the most downloaded members that relaxed a parent's
	// licence, most first (ties by id).
	Offenders []Offender `json:"relaxed_offenders"`
	// Ancestry is the model's own (a family only).
	Ancestry *LicenseAncestry `json:"ancestry,omitempty"`
	// ChangedEdges lists, when asked, every edge whose licence id changes,
	// most downloaded child first (then by parent, child).
	ChangedEdges []LicenseEdge `json:"changed_edges,omitempty"`
	Complete     bool          `json:"complete"`
	Incomplete   *Incomplete   `json:"incomplete,omitempty"`
}

// Licenses classifies every edge of the family or ecosystem o.Model names
// by what it does to the licence (the table in graph.LicenseClasses),
// counts them per parent licence and lists the paths to the most
// downloaded derivatives that relaxed their parent's licence. An unknown
// model is ErrUnknownModel, a pattern that matches none ErrNoMatch.
func (e *Engine) Licenses(ctx context.Context, o LicenseOptions) (LicensePaths, error) {
	if o.Top == 0 {
		o.Top = 10
	}
	if o.Top < 1 || o.Top > MaxLicenseTop {
		return LicensePaths{}, invalidf("licenses: top must be from 1 to %d", MaxLicenseTop)
	}
	if o.Model == "" {
		return LicensePaths{}, invalidf("licenses: name a model or an ecosystem pattern")
	}
	s, release, err := e.attributed(ctx)
	if err != nil {
		return LicensePaths{}, err
	}
	defer release()
	eco, err := e.resolveEcosystem(ctx, s, o.Model)
	if err != nil {
		return LicensePaths{}, err
	}
	out := LicensePaths{Matched: len(eco.matched), Members: len(eco.walk.Members), ByParent: []ParentLicense{}, Offenders: []Offender{}}
	if IsEcosystem(o.Model) {
		out.Ecosystem = o.Model
		if out.Incomplete, _, err = e.ecosystemCrawls(ctx, eco.matched); err != nil {
			return LicensePaths{}, err
		}
	} else {
		out.Model = eco.matched[0]
		if out.Incomplete, err = e.incomplete(ctx, out.Model); err != nil {
			return LicensePaths{}, err
		}
	}
	out.Complete = out.Incomplete == nil
	if err := walkLicenses(ctx, s, eco.walk.Roots, o, &out); err != nil {
		return LicensePaths{}, err
	}
	if out.Model != "" {
		if out.Ancestry, err = e.licenseAncestry(ctx, s, out.Model); err != nil {
			return LicensePaths{}, err
		}
	}
	return out, ctx.Err()
}

func licensed(s attributed, i int32) LicensedModel {
	l := graph.NormalizeLicense(s.Info(i).License)
	return LicensedModel{Model: s.NodeID(i), License: l, Class: graph.ClassifyLicense(l)}
}

// walkLicenses walks the roots' families breadth-first and classifies
// every edge into a member.
func walkLicenses(ctx context.Context, s attributed, roots []int32, o LicenseOptions, out *LicensePaths) error {
	isRoot := make(map[int32]bool, len(roots))
	for _, r := range roots {
		isRoot[r] = true
	}
	prev := map[int32]int32{} // the parent a member was reached from first
	depth := map[int32]int{}
	for _, r := range roots {
		depth[r] = 0
	}
	license := map[int32]string{}
	lic := func(i int32) string {
		l, ok := license[i]
		if !ok {
			l = graph.NormalizeLicense(s.Info(i).License)
			license[i] = l
		}
		return l
	}
	type pair struct{ from, to string }
	cells := map[pair]int{}
	relaxedFrom := map[int32][]int32{} // offender → the parents it relaxed
	queue := slices.Clone(roots)
	seenChild := map[int32]bool{}
	for h := 0; h < len(queue); h++ {
		if h%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v := queue[h]
		kids, rels := s.Out(v)
		clear(seenChild)
		for k, c := range kids {
			if c == v || isRoot[c] || seenChild[c] {
				continue
			}
			seenChild[c] = true
			if _, ok := depth[c]; !ok {
				depth[c] = depth[v] + 1
				prev[c] = v
				queue = append(queue, c)
			}
			from, to := lic(v), lic(c)
			ch := graph.CompareLicenses(from, to)
			out.Edges++
			out.Changes.add(ch, 1)
			cells[pair{from, to}]++
			if ch == graph.Relaxed {
				relaxedFrom[c] = append(relaxedFrom[c], v)
			}
			if o.Edges && from != to {
				out.ChangedEdges = append(out.ChangedEdges, LicenseEdge{Parent: s.NodeID(v), Child: s.NodeID(c), Relation: rels[k], From: from, To: to, Change: ch})
			}
		}
	}

	// The matrix, row by parent licence.
	rows := map[string]*ParentLicense{}
	for p, n := range cells {
		row := rows[p.from]
		if row == nil {
			row = &ParentLicense{License: p.from, Class: graph.ClassifyLicense(p.from)}
			rows[p.from] = row
		}
		ch := graph.CompareLicenses(p.from, p.to)
		row.Edges += n
		row.add(ch, n)
		row.To = append(row.To, ChildLicense{License: p.to, Class: graph.ClassifyLicense(p.to), Change: ch, Edges: n})
	}
	for _, row := range rows {
		slices.SortFunc(row.To, func(a, b ChildLicense) int {
			return cmp.Or(cmp.Compare(b.Edges, a.Edges), cmp.Compare(a.License, b.License))
		})
		out.ByParent = append(out.ByParent, *row)
	}
	slices.SortFunc(out.ByParent, func(a, b ParentLicense) int {
		return cmp.Or(cmp.Compare(b.Edges, a.Edges), cmp.Compare(a.License, b.License))
	})

	// The offenders, most downloaded first, each with its path.
	// (Downloads read once per model: Info may decode a record.)
	dl := map[int32]int64{}
	downloads := func(i int32) int64 {
		d, ok := dl[i]
		if !ok {
			d = s.Info(i).Downloads
			dl[i] = d
		}
		return d
	}
	offenders := make([]int32, 0, len(relaxedFrom))
	for c := range relaxedFrom {
		offenders = append(offenders, c)
		downloads(c)
	}
	slices.SortFunc(offenders, func(a, b int32) int {
		return cmp.Or(cmp.Compare(dl[b], dl[a]), cmp.Compare(s.NodeID(a), s.NodeID(b)))
	})
	for _, c := range offenders[:min(o.Top, len(offenders))] {
		parents := relaxedFrom[c]
		slices.SortFunc(parents, func(a, b int32) int { return cmp.Compare(s.NodeID(a), s.NodeID(b)) })
		nearest := parents[0]
		for _, p := range parents[1:] {
			if depth[p] < depth[nearest] {
				nearest = p
			}
		}
		off := Offender{LicensedModel: licensed(s, c), Downloads: downloads(c), Parents: []LicensedModel{}}
		for _, p := range parents {
			off.Parents = append(off.Parents, licensed(s, p))
		}
		path := []LicensedModel{licensed(s, c)}
		for v := nearest; ; v = prev[v] {
			path = append(path, licensed(s, v))
			if isRoot[v] {
				break
			}
		}
		slices.Reverse(path)
		off.Path = path
		out.Offenders = append(out.Offenders, off)
	}
	childDownloads := map[graph.ModelID]int64{}
	for _, ed := range out.ChangedEdges {
		if _, ok := childDownloads[ed.Child]; !ok {
			i, _ := s.Index(ed.Child)
			childDownloads[ed.Child] = downloads(i)
		}
	}
	slices.SortFunc(out.ChangedEdges, func(a, b LicenseEdge) int {
		return cmp.Or(cmp.Compare(childDownloads[b.Child], childDownloads[a.Child]), cmp.Compare(a.Parent, b.Parent),
			cmp.Compare(a.Child, b.Child), cmp.Compare(a.Relation, b.Relation))
	})
	return nil
}

// licenseAncestry is id's ancestors with their licences, and every edge
// between them classified.
func (e *Engine) licenseAncestry(ctx context.Context, s attributed, id graph.ModelID) (*LicenseAncestry, error) {
	a, err := e.Ancestors(ctx, string(id))
	if err != nil {
		return nil, err
	}
	of := func(m graph.ModelID) LicensedModel {
		if i, ok := s.Index(m); ok {
			return licensed(s, i)
		}
		return LicensedModel{Model: m, Class: graph.UnknownClass}
	}
	out := &LicenseAncestry{LicensedModel: of(id), Ancestors: []LicenseAncestor{}, Edges: []LicenseEdge{}}
	for _, anc := range a.Ancestors {
		out.Ancestors = append(out.Ancestors, LicenseAncestor{LicensedModel: of(anc.Model), Distance: anc.Distance})
	}
	for _, ed := range a.Edges {
		from, to := of(ed.Parent).License, of(ed.Child).License
		out.Edges = append(out.Edges, LicenseEdge{Parent: ed.Parent, Child: ed.Child, Relation: ed.Relation, From: from, To: to,
			Change: graph.CompareLicenses(from, to)})
	}
	return out, nil
}
