package graph

import (
	"fmt"
	"net/url"
	"strings"
)

// HubHosts are the hosts whose URLs name models on the public Hub.
var HubHosts = []string{"huggingface.co", "www.huggingface.co", "hf.co"}

// IsModelURL reports whether ref is written as a URL rather than an id:
// it has a scheme ("https://…"), or begins with one of HubHosts or the
// host of one of endpoints followed by "/" ("hf.co/org/name"). A model id
// never has "://", and no organisation is named like a Hub host.
func IsModelURL(ref string, endpoints ...string) bool {
	if strings.Contains(ref, "://") {
		return true
	}
	host, _, ok := strings.Cut(ref, "/")
	return ok && isHubHost(host, endpoints)
}

// ParseModelRef parses a model as people paste it: an id ("org/name"),
// or the URL of its page on the Hub — https://huggingface.co/org/name,
// with or without the scheme, www. or a trailing "/", on hf.co or on the
// host of one of endpoints (base URLs such as $HF_ENDPOINT, whose path, if
// any, prefixes the model's); what follows the id (/tree/main,
// /blob/main/README.md, ?query, #fragment) is ignored, and
// /api/models/org/name is read too. It refuses, wrapping ErrInvalidID, an
// id ParseModelID refuses, a URL on another host, and a URL that names
// something other than a model: a dataset, a Space, an organisation or a
// user (one path segment), a page of the site (/docs, /models, …).
func ParseModelRef(ref string, endpoints ...string) (ModelID, error) {
	if !IsModelURL(ref, endpoints...) {
		return ParseModelID(ref)
	}
	raw := ref
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w %q: not a Hub URL (want https://huggingface.co/ORG/NAME)", ErrInvalidID, ref)
	}
	prefix, ok := hubPrefix(u.Host, endpoints)
	if !ok {
		return "", fmt.Errorf("%w %q: %s is not the Hub (want https://huggingface.co/ORG/NAME, hf.co or $HF_ENDPOINT's host)", ErrInvalidID, ref, u.Host)
	}
	path := strings.Trim(u.Path, "/")
	if prefix != "" {
		rest, ok := strings.CutPrefix(path+"/", prefix+"/")
		if !ok {
			return "", fmt.Errorf("%w %q: not under the endpoint's path /%s", ErrInvalidID, ref, prefix)
		}
		path = strings.Trim(rest, "/")
	}
	path = strings.TrimPrefix(path, "api/models/")
	segs := strings.Split(path, "/")
	switch {
	case path == "":
		return "", fmt.Errorf("%w %q: the Hub's home page names no model (want https://huggingface.co/ORG/NAME)", ErrInvalidID, ref)
	case segs[0] == "datasets":
		return "", fmt.Errorf("%w %q: a dataset's URL, not a model's", ErrInvalidID, ref)
	case segs[0] == "spaces":
		return "", fmt.Errorf("%w %q: a Space's URL, not a model's", ErrInvalidID, ref)
	case sitePages[segs[0]]:
		return "", fmt.Errorf("%w %q: a page of the Hub, not a model's (want https://huggingface.co/ORG/NAME)", ErrInvalidID, ref)
	case len(segs) == 1:
		return "", fmt.Errorf("%w %q: names an organisation or a user, not a model (its models: '%s/*')", ErrInvalidID, ref, segs[0])
	}
	id, err := ParseModelID(segs[0] + "/" + segs[1])
	if err != nil {
		return "", fmt.Errorf("%w (from %q)", err, ref)
	}
	return id, nil
}

// sitePages are the first path segments of the Hub's own pages, which
// no organisation can take.
var sitePages = map[string]bool{
	"api": true, "blog": true, "chat": true, "collections": true, "docs": true, "enterprise": true,
	"join": true, "learn": true, "login": true, "models": true, "new": true, "notifications": true,
	"organizations": true, "papers": true, "posts": true, "pricing": true, "search": true,
	"settings": true, "tasks": true,
}

// isHubHost reports whether host (host[:port], any case) is one of
// HubHosts or an endpoint's.
func isHubHost(host string, endpoints []string) bool {
	_, ok := hubPrefix(host, endpoints)
	return ok
}

// hubPrefix reports whether host is the Hub's, and the path (without
// slashes) under which that host serves it: "" but for an endpoint with a
// path, such as a mirror at https://example.org/hub.
func hubPrefix(host string, endpoints []string) (string, bool) {
	host = strings.ToLower(host)
	for _, h := range HubHosts {
		if host == h {
			return "", true
		}
	}
	for _, e := range endpoints {
		u, err := url.Parse(strings.TrimSpace(e))
		if err != nil || u.Host == "" {
			continue
		}
		if strings.ToLower(u.Host) == host {
			return strings.Trim(u.Path, "/"), true
		}
	}
	return "", false
}
