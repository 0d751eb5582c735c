package main

import (
	"context"
	"net/url"
	"strconv"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

// RunPage asks GET /api/v1/runs.
func (r *remote) RunPage(ctx context.Context, before uint64, limit int) ([]query.Run, uint64, error) {
	var page struct {
		Runs       []query.Run `json:"runs"`
		NextBefore uint64      `json:"next_before"`
	}
	p := url.Values{"limit": {strconv.Itoa(limit)}}
	if before > 0 {
		p.Set("before", strconv.FormatUint(before, 10))
	}
	err := r.get(ctx, "/api/v1/runs", p, &page)
	return page.Runs, page.NextBefore, err
}

// Children asks GET /api/v1/children.
func (r *remote) Children(ctx context.Context, name string, o query.ChildrenOptions) (query.Children, error) {
	var c query.Children
	p := url.Values{"model": {name}}
	if o.Relation != "" {
		p.Set("relation", string(o.Relation))
	}
	if o.Sort != "" {
		p.Set("sort", o.Sort)
	}
	if o.Limit != 0 {
		p.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		p.Set("cursor", o.Cursor)
	}
	err := r.get(ctx, "/api/v1/children", p, &c)
	return c, err
}

// Search asks GET /api/v1/search.
func (r *remote) Search(ctx context.Context, q string, limit int) (query.Hits, error) {
	var h query.Hits
	p := url.Values{"q": {q}}
	if limit != 0 {
		p.Set("limit", strconv.Itoa(limit))
	}
	err := r.get(ctx, "/api/v1/search", p, &h)
	return h, err
}

// Tree asks GET /api/v1/tree.
func (r *remote) Tree(ctx context.Context, name string, o graph.TreeOptions) (query.Tree, error) {
	var t query.Tree
	p := url.Values{"model": {name}, "depth": {strconv.Itoa(o.Depth)}, "max": {strconv.Itoa(o.Max)}}
	if o.Relation != "" {
		p.Set("relation", string(o.Relation))
	}
	err := r.get(ctx, "/api/v1/tree", p, &t)
	return t, err
}
