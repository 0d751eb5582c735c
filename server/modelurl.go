package server

import (
	"net/http"
	"strings"

	"github.com/hflineage/hflineage/graph"
)

// modelURLs reads a model's Hub URL given as ?model= or ?root= (alone or
// in a comma-separated list) as its id, as the CLI reads MODEL and --root:
// the handlers behind it see ids. The Hub's hosts and the host of the
// Hub the server crawls are read; a URL that names no model (a dataset, a
// Space, an organisation, another site) is a 400 that says what it names.
func (s *Server) modelURLs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.RawQuery, "model=") && !strings.Contains(r.URL.RawQuery, "root=") {
			next.ServeHTTP(w, r)
			return
		}
		base := s.hubBase()
		q := r.URL.Query()
		changed := false
		for _, name := range []string{"model", "root"} {
			if !q.Has(name) {
				continue
			}
			parts := strings.Split(q.Get(name), ",")
			urls := false
			for i, p := range parts {
				p = strings.TrimSpace(p)
				if !graph.IsModelURL(p, base) {
					continue
				}
				id, err := graph.ParseModelRef(p, base)
				if err != nil {
					writeError(w, http.StatusBadRequest, err)
					return
				}
				parts[i], urls = string(id), true
			}
			if urls {
				q.Set(name, strings.Join(parts, ","))
				changed = true
			}
		}
		if changed {
			r = r.Clone(r.Context())
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}
