package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// ErrNoMatch: a seed pattern ("meta-llama/*", "Qwen/Qwen2.5-*") matched no
// model on the Hub, or its organisation has no model there. Nothing was
// crawled and no run was recorded.
var ErrNoMatch = errors.New("no model on the Hub matches")

// ErrPatternOrg: a seed pattern does not spell out its organisation
// ("*/Llama-*"): the Hub lists models by author, not by a glob.
var ErrPatternOrg = errors.New("a crawl's pattern must name its organisation")

// CheckSeedPattern checks one seed as a crawl takes it: a model id, or a
// pattern that names its organisation (ORG/* or ORG/glob). Errors wrap
// graph.ErrInvalidID, graph.ErrMatchesAll or ErrPatternOrg.
func CheckSeedPattern(s string) (graph.Pattern, error) {
	p, err := graph.ParsePattern(s)
	if err != nil {
		return p, err
	}
	if !p.Glob() {
		// A seed asked of the Hub follows today's rule for ids (a pattern
		// of a database's models also takes one listed under older rules).
		if _, err := graph.ParseModelID(s); err != nil {
			return p, err
		}
	}
	if p.Glob() && p.Org() == "" {
		return p, fmt.Errorf("%w: %q (write ORG/* or ORG/NAME-*: the Hub lists models by organisation)", ErrPatternOrg, s)
	}
	return p, nil
}

// ExpandPatterns turns seed patterns into the model ids they name: a
// model id stays as written; a glob becomes the ids, as the Hub spells
// them, of the models its organisation's listing (GET
// /api/models?author=ORG, every page) holds that it matches, sorted. Each
// organisation is listed once, through the Walker's paced, retrying and
// counted client. Ids come out once each (the first spelling wins; letter
// case does not make two), in the order of the patterns. A glob without
// an organisation is ErrPatternOrg; one that matches nothing, ErrNoMatch
// naming it and what the organisation has.
func (w *Walker) ExpandPatterns(ctx context.Context, patterns []graph.Pattern) ([]graph.ModelID, error) {
	listed := map[string][]graph.ModelID{} // lower-cased organisation → its models
	var out []graph.ModelID
	seen := map[string]bool{}
	add := func(id graph.ModelID) {
		if k := strings.ToLower(string(id)); !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	for _, p := range patterns {
		if !p.Glob() {
			add(graph.ModelID(p.String()))
			continue
		}
		org := p.Org()
		if org == "" {
			return nil, fmt.Errorf("%w: %q", ErrPatternOrg, p)
		}
		models, ok := listed[strings.ToLower(org)]
		if !ok {
			var err error
			if models, err = w.ListAuthor(ctx, org); err != nil {
				return nil, err
			}
			listed[strings.ToLower(org)] = models
		}
		if len(models) == 0 {
			return nil, fmt.Errorf("%w %s: the Hub lists no model of the organisation %q", ErrNoMatch, p, org)
		}
		var matched []graph.ModelID
		for _, id := range models {
			if p.Match(id) {
				matched = append(matched, id)
			}
		}
		if len(matched) == 0 {
			return nil, fmt.Errorf("%w %s (the Hub lists %s of %s, none matching)", ErrNoMatch, p, plural(len(models), "model"), org)
		}
		slices.Sort(matched)
		for _, id := range matched {
			add(id)
		}
	}
	return out, nil
}

// ListAuthor lists the ids of every model the Hub lists for the
// organisation org (GET /api/models?author=ORG, following rel="next" to
// the end; a short or empty page is not the end). The requests go through
// the Walker's client: paced, retried and counted with the crawl's. Ids
// not safe to store are left out.
func (w *Walker) ListAuthor(ctx context.Context, org string) ([]graph.ModelID, error) {
	q := url.Values{"author": {org}, "limit": {fmt.Sprint(w.cfg.PageSize)}, "expand[]": {"createdAt"}}
	next := w.cfg.Endpoint + "/api/models?" + q.Encode()
	var ids []graph.ModelID
	fetched := map[string]bool{}
	for next != "" {
		if fetched[next] {
			return nil, fmt.Errorf("listing the models of %s: the Hub's next-page link repeats a page already fetched: pagination loop", org)
		}
		fetched[next] = true
		var models []graph.Model
		header, err := w.getPage(ctx, next, func(body []byte) (err error) {
			models, _, err = DecodeModelPage(body)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("listing the models of %s: %w", org, err)
		}
		for _, m := range models {
			ids = append(ids, m.ID)
		}
		u, _ := url.Parse(next)
		if next, err = NextLink(header.Get("Link"), u); err != nil {
			return nil, fmt.Errorf("listing the models of %s: %w", org, err)
		}
		if next != "" {
			nu, err := url.Parse(next)
			if err != nil {
				return nil, fmt.Errorf("listing the models of %s: %w: next link: %v", org, ErrBadResponse, err)
			}
			if !sameOrigin(nu, w.endpoint) {
				next = onEndpoint(nu, w.endpoint) // the token never leaves the endpoint
			}
		}
	}
	return ids, nil
}

// getPage GETs u through the Walker's client (paced, counted, retried on
// 408, 429, 5xx and network errors by the transport), passes a 200's body
// to decode and returns its headers; a damaged body (one decode refuses
// with ErrBadResponse) is asked for again, up to attemptsPerPage times. Other statuses are errors as statusError makes
// them (401/404 wrap ErrNotFound).
func (w *Walker) getPage(ctx context.Context, u string, decode func(body []byte) error) (http.Header, error) {
	client := &http.Client{Transport: w.hub.transport, Timeout: 5 * time.Minute, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 || !sameOrigin(req.URL, w.endpoint) {
			return fmt.Errorf("%w: %s", errRedirect, req.URL.Host)
		}
		return nil
	}}
	var last error
	for attempt := 0; attempt < attemptsPerPage; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt*attempt)*50*time.Millisecond); err != nil {
				return nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", userAgent())
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			var unreachable *UnreachableError
			switch {
			case ctx.Err() != nil:
				return nil, context.Cause(ctx)
			case errors.As(err, &unreachable):
				return nil, unreachable
			}
			last = fmt.Errorf("GET %s: %w", bareURL(u), unwrapURLError(err))
			continue
		}
		body, err := readLimited(resp.Body, w.cfg.MaxBodySize)
		resp.Body.Close()
		if err != nil {
			last = fmt.Errorf("%w: GET %s: %v", ErrBadResponse, bareURL(u), err)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			he := &HTTPError{URL: bareURL(u), Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Message: resp.Header.Get("X-Error-Message")}
			switch {
			case resp.StatusCode == http.StatusUnauthorized && w.cfg.Token != "" && strings.Contains(he.Message, "Invalid credentials"):
				return nil, fmt.Errorf("%w: %v", ErrBadToken, he)
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound:
				return nil, fmt.Errorf("%w (%w)", ErrNotFound, he)
			case retryable(he):
				last = he
				continue
			}
			return nil, he
		}
		if err := decode(body); err != nil {
			if errors.Is(err, ErrBadResponse) {
				last = err
				continue
			}
			return nil, err
		}
		return resp.Header, nil
	}
	return nil, last
}

// plural is "1 model", "2 models".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
