package query_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// TestCheckCrawlPatterns: a crawl request's seeds may be patterns of an
// organisation's models and comma lists; the 100-seed limit counts what
// was written.
func TestCheckCrawlPatterns(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("org%d/*", i)
	}
	tests := []struct {
		name  string
		seeds []string
		bad   string // in the error; "" when valid
	}{
		{"ids", []string{"meta-llama/Llama-2-7b"}, ""},
		{"organisation", []string{"meta-llama/*"}, ""},
		{"glob and list", []string{"Qwen/Qwen2.5-*,meta-llama/Llama-2-7b", "a/b"}, ""},
		{"a hundred patterns", many[:100], ""},
		{"more than a hundred", many, "at most 100"},
		{"every model", []string{"*"}, "crawl --all"},
		{"every model of every organisation", []string{"a/b", "*/*"}, "stats"},
		{"no organisation", []string{"*/Llama-*"}, "must name its organisation"},
		{"empty in a list", []string{"a/*,"}, "empty pattern"},
		{"invalid", []string{"a/b c*"}, "invalid model id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := query.CheckCrawl(query.CrawlRequest{Seeds: tt.seeds})
			switch {
			case tt.bad == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.bad != "" && (!errors.Is(err, query.ErrInvalid) || !strings.Contains(err.Error(), tt.bad)):
				t.Errorf("err = %v, want ErrInvalid with %q", err, tt.bad)
			}
		})
	}
}

// TestUnfinishedPatternCrawl: a crawl of patterns stopped part way is
// handed back as written (what serve resumes at start), and resumes with
// the models they matched.
func TestUnfinishedPatternCrawl(t *testing.T) {
	w := hubtest.NewWorld()
	w.Add(hubtest.Model{ID: "org/Base"})
	w.Add(hubtest.Model{ID: "org/Other"})
	for i := range 20 {
		w.Add(hubtest.Model{ID: fmt.Sprintf("u%d/ft", i), Tags: hubtest.ParentTags(hubtest.Parent{ID: "org/Base", Relation: "finetune"})})
	}
	srv := hubtest.NewServer(w)
	defer srv.Close()
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := query.New(st)
	hub := query.Hub{Endpoint: srv.URL, Parallel: 1, MinWait: time.Millisecond, MaxWait: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	r := query.CrawlRequest{Seeds: []string{"org/*"}, Mode: "walk"}
	_, err = q.Crawl(ctx, hub, r, query.CrawlWatch{Progress: func(s query.CrawlStats) {
		if s.Pages >= 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	resume, ok, err := q.UnfinishedCrawl()
	if err != nil || !ok || !slices.Equal(resume.Seeds, []string{"org/*"}) || resume.Kind() != "walk" {
		t.Fatalf("unfinished %+v %v %v", resume, ok, err)
	}
	stats, err := q.Crawl(context.Background(), hub, resume, query.CrawlWatch{})
	if err != nil || !stats.Resumed || !slices.Equal(stats.Run.Seeds, []string{"org/Base", "org/Other"}) {
		t.Errorf("resumed %v, run seeds %v, err %v", stats.Resumed, stats.Run.Seeds, err)
	}
}
