package hubtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// GenOptions shape a generated world.
type GenOptions struct {
	Models int    // total models (default 10,000)
	Seed   uint64 // same seed, same world
	// Bases is the number of base models with large families (default
	// max(3, Models/20,000)); the first base's family is the largest.
	Bases int
}

// PlaceholderCreatedAt is the date the Hub gives every repo older than its
// creation records.
var PlaceholderCreatedAt = time.Date(2022, 3, 2, 23, 29, 4, 0, time.UTC)

// Generate builds a deterministic world with the Hub's shape: a few bases
// with huge families (preferential attachment, Zipf-distributed over bases),
// about a third of models declaring a parent, relations in roughly the Hub's
// proportions (finetunes, adapters, quantized leaves, merges of 2–3
// parents), legacy plain tags, a few cycles and self-loops, parents that do
// not exist (deleted or misspelled), licenses that drift from their base's,
// heavy-tailed downloads (all-time ones at least the last 30 days'), and
// creation dates over three years (a few with the Hub's placeholder date).
func Generate(o GenOptions) *World {
	if o.Models <= 0 {
		o.Models = 10000
	}
	if o.Bases <= 0 {
		o.Bases = max(3, o.Models/20000)
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	w := NewWorld()
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	span := GeneratedUntil.Sub(start)
	licenses := []string{"llama3.1", "apache-2.0", "gemma", "mit", "other"}

	ids := make([]string, 0, o.Models)
	license := make([]string, 0, o.Models)
	var expandable []int // models that may get children (not quantized leaves)
	authors := max(10, o.Models/15)
	zipfBase := rand.NewZipf(r, 1.3, 1, uint64(o.Bases-1))
	zipfAuthor := rand.NewZipf(r, 1.1, 2, uint64(authors-1))

	for i := 0; i < o.Models; i++ {
		var id string
		var parents []Parent
		lic := ""
		if i < o.Bases {
			id = fmt.Sprintf("base-org-%d/Base-Model-%d", i, i)
			lic = licenses[i%len(licenses)]
		} else {
			id = fmt.Sprintf("user%d/model-%d", zipfAuthor.Uint64(), i)
			if r.IntN(3) == 0 {
				rel := pickRelation(r)
				pick := func() int {
					if r.IntN(10) < 4 || len(expandable) == 0 {
						return int(zipfBase.Uint64())
					}
					// Preferential towards recent, deep models.
					return expandable[len(expandable)-1-int(math.Min(float64(len(expandable)-1), r.ExpFloat64()*float64(len(expandable))/4))]
				}
				p := pick()
				lic = license[p]
				parents = append(parents, Parent{ID: ids[p], Relation: rel})
				if rel == "merge" {
					for k := 1 + r.IntN(2); k > 0; k-- {
						if q := pick(); ids[q] != parents[0].ID {
							parents = append(parents, Parent{ID: ids[q], Relation: "merge"})
						}
					}
				}
				if r.IntN(33) == 0 { // legacy: only the plain tag
					for j := range parents {
						parents[j].Relation = ""
					}
				}
				if r.IntN(200) == 0 { // a parent that is not on the Hub
					parents = append(parents, Parent{ID: fmt.Sprintf("deleted-org/gone-%d", r.IntN(1000)), Relation: "finetune"})
				}
				if r.IntN(10) == 0 { // license drift
					lic = licenses[r.IntN(len(licenses))]
				}
				if r.IntN(5000) == 0 { // self-loop
					parents = append(parents, Parent{ID: id, Relation: "finetune"})
				}
			} else {
				lic = licenses[r.IntN(len(licenses))]
			}
		}
		created := start.Add(time.Duration(float64(span) * float64(i) / float64(o.Models)))
		if r.IntN(50) == 0 {
			created = PlaceholderCreatedAt
		}
		tags := []string{"transformers", "license:" + lic}
		tags = append(tags, ParentTags(parents...)...)
		quantized := len(parents) > 0 && parents[0].Relation == "quantized"
		if quantized {
			tags = append(tags, "gguf")
		}
		downloads := int64(math.Floor(math.Pow(r.Float64(), -1.2))) - 1
		likes := int64(r.IntN(3)) * int64(r.IntN(3))
		w.Add(Model{
			ID:        id,
			Downloads: downloads,
			Likes:     likes,
			// Trending: a few liked models, drawn from the id so that the
			// generator's random stream (and so every world) is unchanged.
			TrendingScore: likes * int64(hash("trend:"+id)%4),
			// All-time downloads: 1 to 24 months' worth of the last 30
			// days', and a few more, drawn from the id too.
			DownloadsAllTime: downloads*int64(1+hash("alltime:"+id)%24) + int64(hash("alltime+:"+id)%50),
			CreatedAt:        created,
			LastModified:     created.Add(time.Duration(r.Int64N(int64(max(time.Hour, min(90*24*time.Hour, GeneratedUntil.Sub(created))))))),
			LibraryName:      map[bool]string{true: "gguf", false: "transformers"}[quantized],
			PipelineTag:      "text-generation",
			Tags:             tags,
		})
		ids = append(ids, id)
		license = append(license, lic)
		if !quantized && (i < o.Bases || len(parents) > 0) {
			expandable = append(expandable, i)
		}
	}
	// A few cycles: an early family member declares a later descendant as a
	// parent too.
	for k := 0; k < 1+o.Models/50000 && len(expandable) > 10; k++ {
		a := expandable[o.Bases+r.IntN(len(expandable)-o.Bases)%max(1, len(expandable)-o.Bases)]
		b := expandable[len(expandable)-1-r.IntN(min(10, len(expandable)))]
		if a == b || a < o.Bases {
			continue
		}
		m, _ := w.Get(ids[a])
		m.Tags = append(append([]string(nil), m.Tags...), ParentTags(Parent{ID: ids[b], Relation: "finetune"})...)
		w.Add(m)
	}
	return w
}

// GeneratedUntil is the latest creation or modification date Generate gives.
var GeneratedUntil = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func pickRelation(r *rand.Rand) string {
	switch x := r.IntN(100); {
	case x < 45:
		return "finetune"
	case x < 70:
		return "adapter"
	case x < 95:
		return "quantized"
	default:
		return "merge"
	}
}
