package crawler

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("https://huggingface.co/api/models?filter=x")
	tests := []struct {
		header, want string
		err          bool
	}{
		{"", "", false},
		{`<https://huggingface.co/api/models?cursor=abc>; rel="next"`, "https://huggingface.co/api/models?cursor=abc", false},
		{`<https://h/a?c=1>; rel=next`, "https://h/a?c=1", false},
		{`<https://h/prev>; rel="prev", <https://h/next>; rel="next"`, "https://h/next", false},
		{`<https://h/first>; rel="first"`, "", false},
		{`</api/models?cursor=rel>; rel="next"`, "https://huggingface.co/api/models?cursor=rel", false},
		{`<https://h/x>; title="a, b; c"; rel="next"`, "https://h/x", false},
		{`<https://h/x>; rel="prefetch next"`, "https://h/x", false},
		{`https://h/x; rel="next"`, "", true},
		{`<https://h/x; rel="next"`, "", true},
	}
	for _, tt := range tests {
		got, err := NextLink(tt.header, base)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("NextLink(%q) = %q, %v; want %q, err %v", tt.header, got, err, tt.want, tt.err)
		}
	}
}

func TestDecodeModel(t *testing.T) {
	m, err := DecodeModel([]byte(`{"_id":"x","id":"meta-llama/Llama-3.1-8B-Instruct","gated":"manual","downloads":5,
		"createdAt":"2024-07-18T08:56:00.000Z","tags":["license:llama3.1","base_model:meta-llama/Llama-3.1-8B","base_model:finetune:meta-llama/Llama-3.1-8B"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "meta-llama/Llama-3.1-8B-Instruct" || m.Gated != "manual" || m.License != "llama3.1" || m.Author != "meta-llama" ||
		m.CreatedAt.Year() != 2024 || m.Downloads != 5 {
		t.Errorf("decoded %+v", m)
	}
	for _, bad := range []string{``, `nope`, `{"id":5}`, `{"id":"bad id"}`, `[]`, `{"id":"a/b"} trailing`, `{"id":"a/b","tags":"x"}`} {
		if _, err := DecodeModel([]byte(bad)); !errors.Is(err, ErrBadResponse) {
			t.Errorf("DecodeModel(%q) = %v, want ErrBadResponse", bad, err)
		}
	}
}

// TestDecodeRecordedModel decodes the real model-info body recorded from the
// Hub by huggingface_hub's test suite (see testdata/README.md).
func TestDecodeRecordedModel(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "llama-3.1-8b-instruct.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeModel(body)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "meta-llama/Llama-3.1-8B-Instruct" || m.Gated != "manual" {
		t.Errorf("decoded %+v", m)
	}
	found := false
	for _, tag := range m.Tags {
		found = found || tag == "base_model:finetune:meta-llama/Llama-3.1-8B"
	}
	if !found {
		t.Error("recorded tags lack the canonical parent")
	}
}

func FuzzNextLink(f *testing.F) {
	for _, s := range []string{`<https://h/x>; rel="next"`, `<a>, <b>; rel=next`, `<`, `<>;;;`, `<x>; rel="`, `,,,`} {
		f.Add(s)
	}
	base, _ := url.Parse("https://huggingface.co/api/models")
	f.Fuzz(func(t *testing.T, h string) {
		got, err := NextLink(h, base)
		if err == nil && got != "" && !strings.Contains(h, "next") && !strings.Contains(strings.ToLower(h), "next") {
			t.Fatalf("%q: next link %q without rel=next", h, got)
		}
	})
}

func FuzzDecodeModelList(f *testing.F) {
	f.Add([]byte(`[{"id":"a/b","tags":["base_model:c/d"]}]`))
	f.Add([]byte(`[{"id":"a/b","gated":true,"createdAt":"x"}]`))
	f.Add([]byte(`{"error":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := DecodeModelList(body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error not ErrBadResponse: %v", err)
			}
			return
		}
		for _, m := range ms {
			if m.ID == "" {
				t.Fatal("model without id accepted")
			}
		}
	})
}

func FuzzParseRateLimit(f *testing.F) {
	f.Add(`"api";r=0;t=12`)
	f.Add(`"api";r=-1;t=x`)
	f.Fuzz(func(t *testing.T, h string) {
		rl, ok := ParseRateLimit(h)
		if ok && (rl.Remaining < 0 || rl.Reset < 0) {
			t.Fatalf("%q: negative %+v", h, rl)
		}
	})
}
