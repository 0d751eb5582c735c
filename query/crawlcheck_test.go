package query_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/query"
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
