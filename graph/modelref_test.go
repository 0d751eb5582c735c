package graph

import (
	"strings"
	"testing"
)

// FuzzParseModelRef: ParseModelRef never panics; an id it returns is one
// ParseListedID takes and that, typed back, is not read as a URL; its
// error about a URL never quotes the URL's userinfo or query.
func FuzzParseModelRef(f *testing.F) {
	for _, s := range []string{
		"gpt2", "a/b", "https://huggingface.co/a/b/tree/main", "hf.co/gpt2", "https://huggingface.co/hf.co/x",
		"https://u:hf_SECRET@huggingface.co/datasets/x?t=hf_SECRET", "huggingface/bert", "http://huggingface/a/b",
		"https://huggingface.co/old--org/legacy..name", "https://mirror.example/hub/a/b", "https://huggingface.co/api/models/a",
	} {
		f.Add(s)
	}
	endpoints := []string{"http://huggingface", "https://mirror.example/hub"}
	f.Fuzz(func(t *testing.T, ref string) {
		id, err := ParseModelRef(ref, endpoints...)
		if err == nil {
			if _, lerr := ParseListedID(string(id)); lerr != nil {
				t.Fatalf("%q gave the id %q: %v", ref, id, lerr)
			}
			if IsModelURL(string(id), endpoints...) {
				t.Fatalf("%q gave the id %q, which reads as a URL", ref, id)
			}
			return
		}
		if !IsModelURL(ref, endpoints...) {
			return
		}
		if red := RedactRef(ref); red != ref && strings.Contains(err.Error(), ref) {
			t.Fatalf("%q: error %q quotes it unredacted", ref, err)
		}
	})
}
