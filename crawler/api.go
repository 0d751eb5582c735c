package crawler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// expandFields are the model properties hflineage keeps; they are asked for
// with expand[] so the Hub sends nothing else. Both endpoints accept
// downloadsAllTime (hub-api.md lists it among a listing's expand fields);
// a listing with full=true instead of expand[] does not carry it, and its
// models are stored with their all-time downloads unknown.
var expandFields = []string{
	"author", "createdAt", "downloads", "downloadsAllTime", "gated", "lastModified",
	"library_name", "likes", "pipeline_tag", "tags",
}

// ErrBadResponse marks a Hub answer that could not be understood (not JSON,
// the wrong shape, truncated). Such a request may be tried again.
var ErrBadResponse = errors.New("bad response from the Hub")

// ErrGated: the model is gated and these credentials may not see it (401 or
// 403 with X-Error-Code GatedRepo). The model exists.
var ErrGated = errors.New("gated model, not visible with these credentials")

// apiModel is one model as the Hub's /api/models endpoints describe it.
type apiModel struct {
	ID        string `json:"id"`
	ModelID   string `json:"modelId"`
	Author    string `json:"author"`
	Downloads int64  `json:"downloads"`
	// DownloadsAllTime is nil when the answer has no downloadsAllTime.
	DownloadsAllTime *int64          `json:"downloadsAllTime"`
	Likes            int64           `json:"likes"`
	CreatedAt        string          `json:"createdAt"`
	LastModified     string          `json:"lastModified"`
	LibraryName      string          `json:"library_name"`
	PipelineTag      string          `json:"pipeline_tag"`
	Gated            json.RawMessage `json:"gated"`
	Tags             []string        `json:"tags"`
}

// DecodeModel decodes the body of GET /api/models/{id}. The model's id
// must be safe to store and print (graph.ParseListedID), else the answer is
// ErrBadResponse.
func DecodeModel(body []byte) (graph.Model, error) {
	var a apiModel
	if err := decodeStrict(body, &a); err != nil {
		return graph.Model{}, err
	}
	m, err := a.model()
	if errors.Is(err, graph.ErrInvalidID) {
		err = fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	return m, err
}

// DecodeModelPage decodes the body of GET /api/models (a JSON array). Ids
// the Hub lists are data: any id safe to store and print is kept, even one
// a user could not type (graph.ParseListedID). A model whose id is not safe
// is left out, and skipped says why (one error wrapping graph.ErrInvalidID
// per model); the rest of the page is kept. A body that is not an array of
// models, or a model without any id, is ErrBadResponse.
func DecodeModelPage(body []byte) (ms []graph.Model, skipped []error, err error) {
	var as []apiModel
	if err := decodeStrict(body, &as); err != nil {
		return nil, nil, err
	}
	ms = make([]graph.Model, 0, len(as))
	for i := range as {
		m, err := as[i].model()
		switch {
		case errors.Is(err, graph.ErrInvalidID):
			skipped = append(skipped, err)
		case err != nil:
			return nil, nil, err
		default:
			ms = append(ms, m)
		}
	}
	return ms, skipped, nil
}

// DecodeModelList is DecodeModelPage for callers that take a page whole or
// not at all: a model with an unsafe id makes it ErrBadResponse.
func DecodeModelList(body []byte) ([]graph.Model, error) {
	ms, skipped, err := DecodeModelPage(body)
	if err == nil && len(skipped) > 0 {
		err = fmt.Errorf("%w: %v", ErrBadResponse, skipped[0])
	}
	if err != nil {
		return nil, err
	}
	return ms, nil
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v (body starts %q)", ErrBadResponse, err, preview(body))
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after JSON", ErrBadResponse)
	}
	return nil
}

func preview(b []byte) string {
	const n = 60
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func (a *apiModel) model() (graph.Model, error) {
	raw := a.ID
	if raw == "" {
		raw = a.ModelID
	}
	if raw == "" {
		return graph.Model{}, fmt.Errorf("%w: a model without an id", ErrBadResponse)
	}
	id, err := graph.ParseListedID(raw)
	if err != nil {
		return graph.Model{}, err // wraps graph.ErrInvalidID
	}
	m := graph.Model{
		ID:          id,
		Author:      a.Author,
		Downloads:   a.Downloads,
		Likes:       a.Likes,
		LibraryName: a.LibraryName,
		PipelineTag: a.PipelineTag,
		Tags:        a.Tags,
		License:     graph.LicenseFromTags(a.Tags),
	}
	if a.DownloadsAllTime != nil {
		m.DownloadsAllTime = graph.CountOf(*a.DownloadsAllTime)
	}
	if m.Author == "" {
		m.Author = id.Author()
	}
	m.CreatedAt = parseTime(a.CreatedAt)
	m.LastModified = parseTime(a.LastModified)
	switch g := strings.TrimSpace(string(a.Gated)); g {
	case "", "null", "false":
	case "true":
		m.Gated = "true"
	default:
		var s string
		if json.Unmarshal(a.Gated, &s) == nil {
			m.Gated = s
		}
	}
	return m, nil
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// NextLink returns the target of the rel="next" link in a Link header
// (RFC 8288), resolved against base, or "" when there is none. A header that
// cannot be parsed is an error.
func NextLink(header string, base *url.URL) (string, error) {
	rest := strings.TrimSpace(header)
	for rest != "" {
		if rest[0] != '<' {
			return "", fmt.Errorf("%w: malformed Link header %q", ErrBadResponse, preview([]byte(header)))
		}
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return "", fmt.Errorf("%w: malformed Link header %q", ErrBadResponse, preview([]byte(header)))
		}
		target := rest[1:end]
		rest = rest[end+1:]
		// Parameters up to the next link (a comma outside quotes).
		var params []string
		var cur strings.Builder
		inQuote := false
	scan:
		for len(rest) > 0 {
			c := rest[0]
			switch {
			case c == '"':
				inQuote = !inQuote
			case c == ',' && !inQuote:
				rest = rest[1:]
				break scan
			case c == ';' && !inQuote:
				params = append(params, cur.String())
				cur.Reset()
				rest = rest[1:]
				continue
			}
			cur.WriteByte(c)
			rest = rest[1:]
		}
		params = append(params, cur.String())
		rest = strings.TrimSpace(rest)
		for _, p := range params {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, "next") {
					u, err := url.Parse(target)
					if err != nil {
						return "", fmt.Errorf("%w: bad next link: %v", ErrBadResponse, err)
					}
					if base != nil {
						u = base.ResolveReference(u)
					}
					return u.String(), nil
				}
			}
		}
	}
	return "", nil
}

// decodeChildrenCount sums childrenModelCount ({"adapter":N,…}) in a
// single-model answer.
func decodeChildrenCount(body []byte) (int, error) {
	var v struct {
		Counts map[string]int `json:"childrenModelCount"`
	}
	if err := decodeStrict(body, &v); err != nil {
		return 0, err
	}
	total := 0
	for _, n := range v.Counts {
		if n > 0 {
			total += n
		}
	}
	return total, nil
}

func readLimited(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("response body larger than %d bytes", limit)
	}
	return b, nil
}
