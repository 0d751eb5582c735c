package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// ChildrenCount asks the Hub how many direct children a model has
// (childrenModelCount on the single-model endpoint), summed over relations.
// The request goes through the Walker's own client: paced and counted with
// the crawl's requests.
func (w *Walker) ChildrenCount(ctx context.Context, id graph.ModelID) (int, error) {
	client := &http.Client{Transport: w.hub.transport, Timeout: 5 * time.Minute, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 || !sameOrigin(req.URL, w.endpoint) {
			return fmt.Errorf("%w: %s", errRedirect, req.URL.Host)
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, "GET", w.cfg.Endpoint+"/api/models/"+string(id)+"?expand[]=childrenModelCount", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", userAgent())
	resp, err := client.Do(req)
	if err != nil {
		var unreachable *UnreachableError
		if errors.As(err, &unreachable) {
			return 0, unreachable
		}
		return 0, fmt.Errorf("estimate family of %s: %w", id, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, w.cfg.MaxBodySize)
	if err != nil {
		return 0, fmt.Errorf("estimate family of %s: %w", id, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound:
		return 0, fmt.Errorf("seed %s: %w", id, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("estimate family of %s: HTTP %d", id, resp.StatusCode)
	}
	return decodeChildrenCount(body)
}
