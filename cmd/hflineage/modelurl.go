package main

import (
	"flag"
	"os"
	"strings"

	"github.com/hflineage/hflineage/graph"
)

// modelRefs reads Hub URLs pasted where a command takes models: each
// positional argument (each of its comma-separated parts) and the --root
// flag, when written as a model page's URL (https://huggingface.co/org/name
// or /name, hf.co/org/name, http://$HF_ENDPOINT's or --endpoint's host —
// with its scheme —, with /tree/main, ?query, a trailing / and such),
// becomes the model's id. Anything else passes unchanged, for the command
// to check. A URL that names no model (a dataset, a Space, a page of the
// site, another site) is a usage error, quoted without userinfo or query.
func modelRefs(fs *flag.FlagSet, pos []string) ([]string, error) {
	endpoints := []string{os.Getenv("HF_ENDPOINT")}
	if f := fs.Lookup("endpoint"); f != nil && f.Value.String() != "" {
		endpoints = append(endpoints, f.Value.String())
	}
	ref := func(arg string) (string, error) {
		parts := strings.Split(arg, ",")
		changed := false
		for i, p := range parts {
			p = strings.TrimSpace(p)
			if !graph.IsModelURL(p, endpoints...) {
				continue
			}
			id, err := graph.ParseModelRef(p, endpoints...)
			if err != nil {
				return "", usagef("%v", err)
			}
			parts[i], changed = string(id), true
		}
		if !changed {
			return arg, nil
		}
		return strings.Join(parts, ","), nil
	}
	out := make([]string, len(pos))
	for i, a := range pos {
		var err error
		if out[i], err = ref(a); err != nil {
			return nil, err
		}
	}
	if f := fs.Lookup("root"); f != nil {
		id, err := ref(f.Value.String())
		if err != nil {
			return nil, err
		}
		if id != f.Value.String() {
			if err := f.Value.Set(id); err != nil {
				return nil, usagef("%v", err)
			}
		}
	}
	return out, nil
}
