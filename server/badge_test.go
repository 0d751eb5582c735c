package server

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// svgBadge is what a test reads of a badge.
type svgBadge struct {
	Width int    `xml:"width,attr"`
	Label string `xml:"aria-label,attr"`
	Title string `xml:"title"`
	Rects []struct {
		X     int    `xml:"x,attr"`
		Width int    `xml:"width,attr"`
		Fill  string `xml:"fill,attr"`
	} `xml:"g>rect"`
	Texts []struct {
		X          int    `xml:"x,attr"`
		TextLength int    `xml:"textLength,attr"`
		Text       string `xml:",chardata"`
	} `xml:"g>text"`
}

// parseBadge parses an SVG badge and checks its geometry: the two halves
// fill the width, and each text fits its half.
func parseBadge(t *testing.T, body []byte) svgBadge {
	t.Helper()
	var b svgBadge
	d := xml.NewDecoder(strings.NewReader(string(body)))
	d.Strict = true
	if err := d.Decode(&b); err != nil {
		t.Fatalf("not valid SVG: %v\n%s", err, body)
	}
	if len(b.Rects) != 3 || len(b.Texts) != 4 {
		t.Fatalf("want 3 rects and 4 texts: %+v", b)
	}
	label, msg := b.Rects[0], b.Rects[1]
	if label.Width+msg.Width != b.Width || msg.X != label.Width || b.Rects[2].Width != b.Width {
		t.Errorf("halves %d + %d at %d do not fill the width %d", label.Width, msg.Width, msg.X, b.Width)
	}
	for i, tx := range b.Texts {
		half := label
		if i >= 2 {
			half = msg
		}
		if tx.TextLength < textWidth(tx.Text) || tx.TextLength > half.Width-8 || tx.X != half.X+half.Width/2 {
			t.Errorf("text %q (length %d at %d) does not fit its half (%d wide at %d)", tx.Text, tx.TextLength, tx.X, half.Width, half.X)
		}
	}
	return b
}

func TestBadgeSVG(t *testing.T) {
	short := parseBadge(t, badgeSVG("derivatives", "9", "#007ec6"))
	long := parseBadge(t, badgeSVG("derivatives", "1,234,567", "#007ec6"))
	if short.Texts[1].Text != "derivatives" || short.Texts[3].Text != "9" || short.Rects[1].Fill != "#007ec6" {
		t.Errorf("badge %+v", short)
	}
	if long.Width <= short.Width || long.Rects[0].Width != short.Rects[0].Width {
		t.Errorf("a longer message (%d) is not wider than a short one (%d) with the same label", long.Width, short.Width)
	}
	// Text is escaped: it comes back as written.
	odd := parseBadge(t, badgeSVG(`<a & "b">`, `'1' </svg>`, "#555"))
	if odd.Texts[1].Text != `<a & "b">` || odd.Texts[3].Text != `'1' </svg>` || odd.Title != `<a & "b">: '1' </svg>` {
		t.Errorf("escaped text read back as %+v", odd)
	}
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1682: "1,682", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := withCommas(n); got != want {
			t.Errorf("withCommas(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestBadge(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{})
	count, err := s.q.Count(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	total, finetunes := strconv.Itoa(count.Descendants.Total), strconv.Itoa(count.Descendants.Finetune)
	do := func(path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	for _, c := range []struct {
		name, path     string
		status         int
		label, message string
		fill           string
	}{
		{"a family", "/badge/" + root + ".svg", 200, "derivatives", total, "#007ec6"},
		{"any case", "/badge/META-LLAMA/llama-3.1-8b.svg", 200, "derivatives", total, "#007ec6"},
		{"one relation", "/badge/" + root + ".svg?relation=finetune", 200, "fine-tunes", finetunes, "#007ec6"},
		{"none of a relation", "/badge/" + root + ".svg?relation=merge", 200, "merges", strconv.Itoa(count.Descendants.Merge), "#007ec6"},
		{"a model without derivatives", "/badge/many/ft-03.svg", 200, "derivatives", "0", "#9f9f9f"},
		{"an ecosystem", "/badge/meta-llama/*.svg", 200, "derivatives", total, "#007ec6"},
		// b/lora, a root too, is not a member: one less.
		{"an ecosystem, escaped, a comma list", "/badge/meta-llama/%2A,b/lora.svg", 200, "derivatives", strconv.Itoa(count.Descendants.Total - 1), "#007ec6"},
		{"an unknown model", "/badge/no/such.svg", 404, "derivatives", "not in database", "#9f9f9f"},
		{"a pattern matching nothing", "/badge/nobody/*.svg", 404, "derivatives", "not in database", "#9f9f9f"},
		{"an invalid id", "/badge/a--b/c.svg", 400, "derivatives", "invalid model id", "#e05d44"},
		{"an id with a space", "/badge/a%20b.svg", 400, "derivatives", "invalid model id", "#e05d44"},
		{"an invalid relation", "/badge/" + root + ".svg?relation=fork", 400, "derivatives", "invalid relation", "#e05d44"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(c.path)
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "image/svg+xml; charset=utf-8" {
				t.Fatalf("%d %s, want %d image/svg+xml: %s", resp.StatusCode, resp.Header.Get("Content-Type"), c.status, body)
			}
			b := parseBadge(t, body)
			if b.Texts[1].Text != c.label || b.Texts[3].Text != c.message || b.Rects[1].Fill != c.fill || b.Label != c.label+": "+c.message {
				t.Errorf("badge %q | %q (%s), want %q | %q (%s)", b.Texts[1].Text, b.Texts[3].Text, b.Rects[1].Fill, c.label, c.message, c.fill)
			}
			if got := resp.Header.Get("Cross-Origin-Resource-Policy"); got != "cross-origin" {
				t.Errorf("Cross-Origin-Resource-Policy %q: another site's page could not show it", got)
			}
			if c.status == 200 {
				if resp.Header.Get("ETag") == "" || resp.Header.Get("Cache-Control") != "public, max-age=300" {
					t.Errorf("ETag %q, Cache-Control %q", resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
				}
			} else if resp.Header.Get("ETag") != "" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("an error is cached: ETag %q, Cache-Control %q", resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
			}
		})
	}

	// The shields.io endpoint.
	resp, body := do("/badge/" + root + ".json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if want := `{"schemaVersion":1,"label":"derivatives","message":"` + total + `","color":"blue"}` + "\n"; string(body) != want {
		t.Errorf("shields JSON %s, want %s", body, want)
	}
	resp, body = do("/badge/no/such.json")
	var e shieldsEndpoint
	if err := json.Unmarshal(body, &e); resp.StatusCode != 404 || err != nil || !e.IsError || e.Message != "not in database" || e.SchemaVersion != 1 {
		t.Errorf("unknown model: %d %s", resp.StatusCode, body)
	}
	resp, body = do("/badge/" + root + ".png")
	if resp.StatusCode != 404 || !strings.Contains(string(body), "/badge/MODEL.svg") {
		t.Errorf("a .png badge: %d %s", resp.StatusCode, body)
	}

	// Cached per data version: the ETag is it, and a revalidation is a 304.
	resp, _ = do("/badge/" + root + ".svg")
	etag := resp.Header.Get("ETag")
	sz, _ := s.q.Sizes()
	if etag != `"`+strconv.FormatUint(sz.Version, 10)+`"` {
		t.Errorf("ETag %s, want the data version %d", etag, sz.Version)
	}
	for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
		if resp, body := do("/badge/"+root+".json", "If-None-Match", inm); resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %q", inm, resp.StatusCode, body)
		}
	}
	if resp, _ := do("/badge/"+root+".svg", "If-None-Match", `"0"`); resp.StatusCode != 200 {
		t.Errorf("an old version: %d, want 200", resp.StatusCode)
	}
	// Another site's page shows it (an <img> is a cross-site request).
	if resp, _ := do("/badge/"+root+".svg", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Dest", "image"); resp.StatusCode != 200 {
		t.Errorf("a cross-site image request: %d", resp.StatusCode)
	}
}
