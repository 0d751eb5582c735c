package query

import (
	"context"
	"errors"
	"time"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// ModelInfo is what the database holds of one model: its Hub metadata as
// the last crawl that saw it recorded it, and the parents it declares.
// The keys are the children table's where it has them (id, author,
// downloads, likes, created, license) and the Hub's otherwise.
type ModelInfo struct {
	ID           graph.ModelID `json:"id"`
	Author       string        `json:"author"`
	Downloads    int64         `json:"downloads"` // the Hub's last 30 days
	Likes        int64         `json:"likes"`
	Created      string        `json:"created,omitempty"`       // RFC 3339, UTC; absent when unknown
	LastModified string        `json:"last_modified,omitempty"` // RFC 3339, UTC; absent when unknown
	License      string        `json:"license,omitempty"`
	LibraryName  string        `json:"library_name,omitempty"`
	PipelineTag  string        `json:"pipeline_tag,omitempty"`
	Gated        string        `json:"gated,omitempty"` // "auto", "manual" (or "true"); absent when not gated
	Tags         []string      `json:"tags"`
	Parents      []Edge        `json:"parents"` // sorted by parent, then relation
	// Stub: the model is known only as a parent another model names; the
	// crawls never read it, so its other fields are empty.
	Stub bool `json:"stub,omitempty"`
	// DownloadsAllTime is the Hub's downloadsAllTime, absent when the
	// record has none (crawled before hflineage asked for it).
	DownloadsAllTime graph.OptionalCount `json:"downloads_all_time,omitzero"`
}

// Model returns what the database holds of the model named (any letter
// case, or an old name): ErrInvalid for a malformed name, ErrUnknownModel
// for one the database does not hold.
func (e *Engine) Model(ctx context.Context, name string) (ModelInfo, error) {
	id, err := e.Resolve(ctx, name)
	if err != nil {
		return ModelInfo{}, err
	}
	var m graph.Model
	parents := []graph.Edge{}
	err = e.st.View(ctx, func(r *store.Reader) error {
		var err error
		if m, err = r.Model(id); err != nil {
			return err
		}
		return r.ParentEdges(id, func(p graph.Edge) error {
			parents = append(parents, p)
			return nil
		})
	})
	if errors.Is(err, store.ErrNotFound) {
		return ModelInfo{}, &unknownModelError{name: name}
	}
	if err != nil {
		return ModelInfo{}, err
	}
	info := ModelInfo{ID: m.ID, Author: m.Author, Downloads: m.Downloads, Likes: m.Likes, License: m.License,
		LibraryName: m.LibraryName, PipelineTag: m.PipelineTag, Gated: m.Gated, Tags: m.Tags, Parents: edgesOf(parents), Stub: m.Stub,
		DownloadsAllTime: m.DownloadsAllTime}
	if info.ID == "" {
		info.ID = id
	}
	if info.Tags == nil {
		info.Tags = []string{}
	}
	if !m.CreatedAt.IsZero() {
		info.Created = m.CreatedAt.UTC().Format(time.RFC3339)
	}
	if !m.LastModified.IsZero() {
		info.LastModified = m.LastModified.UTC().Format(time.RFC3339)
	}
	return info, nil
}
