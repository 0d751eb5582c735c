package hubtest

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hflineage/hflineage/graph"
)

// The fields of a model's info, by where the Hub serves them.
var (
	// listExpand are the properties the list endpoint accepts in expand[]:
	// the ones hub-api.md lists, those @huggingface/hub's listModels sends
	// as additionalFields (MODEL_EXPANDABLE_KEYS of 2.17.5) and the rest of
	// huggingface_hub's ExpandModelProperty_T.
	listExpand = setOf("author", "cardData", "config", "createdAt", "disabled", "downloads", "downloadsAllTime",
		"gated", "gguf", "gitalyUid", "inference", "inferenceProviderMapping", "lastModified", "library_name",
		"likes", "mask_token", "model-index", "pipeline_tag", "private", "resourceGroup", "safetensors", "sha",
		"siblings", "spaces", "tags", "transformersInfo", "trendingScore", "widgetData", "xetEnabled")
	// modelOnlyExpand are accepted in expand[] by the single-model endpoint
	// only (hub-api.md: refused on lists).
	modelOnlyExpand = setOf("baseModels", "childrenModelCount", "usedStorage")

	// listDefault is a listing's body without expand[] (the fields
	// huggingface_hub's ModelInfo reads from a plain listing; inferred, no
	// recording has one).
	listDefault = []string{"_id", "id", "modelId", "likes", "trendingScore", "private", "downloads", "tags",
		"pipeline_tag", "library_name", "createdAt"}
	// listFull are added to a listing by full=true: "the last_modified,
	// the sha, the files and the tags" (huggingface_hub list_models(full=)
	// docs), with the author, gated and disabled its ModelInfo reads too.
	listFull = []string{"author", "sha", "lastModified", "gated", "disabled", "siblings"}
	// modelDefault is the single-model endpoint's body without expand[]:
	// the recorded one (test_http_session_correctly_closed.yaml,
	// InferenceApiTest.test_simple_inference.yaml). inference ("warm" in
	// the recordings), widgetData and mask_token are served only where a
	// model's Extra has them: the fake Hub runs no inference.
	modelDefault = []string{"_id", "id", "modelId", "author", "sha", "private", "gated", "disabled", "downloads",
		"likes", "lastModified", "createdAt", "library_name", "pipeline_tag", "tags", "cardData", "config",
		"transformersInfo", "siblings", "spaces", "safetensors", "inference", "usedStorage", "widgetData",
		"mask_token", "model-index"}
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// field returns one field of m's info, and whether m has it. Fields the
// World does not hold are made up from what it does, deterministically:
// a card declaring the parents of the tags, a config and files fitting the
// library, a parameter count drawn from the id.
func (s *Server) field(m *Model, name string) (any, bool) {
	if v, ok := m.Extra[name]; ok {
		return v, true
	}
	switch name {
	case "_id":
		return fmt.Sprintf("%024x", hash(m.ID)), true
	case "id", "modelId":
		return m.ID, true
	case "author":
		return m.Author, true
	case "sha":
		if m.SHA != "" {
			return m.SHA, true
		}
		return fmt.Sprintf("%040x", len(m.ID)), true
	case "private":
		return m.Private, true
	case "gated":
		return m.Gated, true
	case "disabled", "xetEnabled":
		return false, true
	case "downloads":
		return m.Downloads, true
	case "downloadsAllTime":
		return allTimeDownloads(m)
	case "likes":
		return m.Likes, true
	case "trendingScore":
		return m.TrendingScore, true
	case "lastModified":
		return m.LastModified.UTC().Format(hubTime), true
	case "createdAt":
		return m.CreatedAt.UTC().Format(hubTime), true
	case "library_name":
		return m.LibraryName, true
	case "pipeline_tag":
		return m.PipelineTag, true
	case "tags":
		return m.Tags, true
	case "cardData":
		return cardData(m), true
	case "config":
		if isGGUF(m) {
			return map[string]any{"model_type": "llama"}, true
		}
		return map[string]any{"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama"}, true
	case "transformersInfo":
		if m.LibraryName != "transformers" {
			return nil, false
		}
		return map[string]any{"auto_model": "AutoModelForCausalLM", "pipeline_tag": m.PipelineTag, "processor": "AutoTokenizer"}, true
	case "siblings":
		files := []string{".gitattributes", "README.md", "config.json", "model.safetensors"}
		if isGGUF(m) {
			name := m.ID[strings.LastIndexByte(m.ID, '/')+1:]
			files = []string{".gitattributes", "README.md", name + ".Q4_K_M.gguf"}
		}
		sib := make([]map[string]string, len(files))
		for i, f := range files {
			sib[i] = map[string]string{"rfilename": f}
		}
		return sib, true
	case "spaces":
		return []string{}, true
	case "safetensors":
		if isGGUF(m) {
			return nil, false
		}
		n := parameters(m)
		return map[string]any{"parameters": map[string]int64{"BF16": n}, "total": n}, true
	case "gguf":
		if !isGGUF(m) {
			return nil, false
		}
		return map[string]any{"total": parameters(m), "architecture": "llama", "context_length": 4096}, true
	case "usedStorage":
		return parameters(m) * 2, true
	case "model-index":
		return nil, true
	case "inferenceProviderMapping":
		// No fake model is served by an inference provider.
		return map[string]any{}, true
	case "gitalyUid":
		return fmt.Sprintf("%016x", hash("gitaly:"+m.ID)), true
	case "baseModels":
		return s.baseModels(m)
	case "childrenModelCount":
		return s.childrenCount(m.ID), true
	}
	return nil, false
}

func isGGUF(m *Model) bool { return m.LibraryName == "gguf" }

// parameters is a model's made-up parameter count: 0.1 to 7 billion.
func parameters(m *Model) int64 {
	return int64(hash("params:"+m.ID)%70+1) * 100_000_000
}

// parents returns the parents m's tags declare, in tag order, with the
// relation of each (the Hub's default, finetune, for a plain tag alone).
func parents(m *Model) (ids []string, rels map[string]string) {
	rels = map[string]string{}
	for _, t := range m.Tags {
		rel, id, ok := graph.ParseBaseModelTag(t)
		if !ok {
			continue
		}
		if _, seen := rels[string(id)]; !seen {
			ids = append(ids, string(id))
			rels[string(id)] = "finetune"
		}
		if rel != "" {
			rels[string(id)] = string(rel)
		}
	}
	return ids, rels
}

// cardData is the card's metadata as the Hub parses it: the license, the
// library, the pipeline, and base_model (a string, or a list for several
// parents) with base_model_relation when the tags say one.
func cardData(m *Model) map[string]any {
	card := map[string]any{}
	if lic := graph.LicenseFromTags(m.Tags); lic != "" {
		card["license"] = lic
	}
	if m.LibraryName != "" {
		card["library_name"] = m.LibraryName
	}
	if m.PipelineTag != "" {
		card["pipeline_tag"] = m.PipelineTag
	}
	ids, rels := parents(m)
	switch len(ids) {
	case 0:
	case 1:
		card["base_model"] = ids[0]
		card["base_model_relation"] = rels[ids[0]]
	default:
		card["base_model"] = ids
		card["base_model_relation"] = "merge"
	}
	return card
}

// baseModels is the single-model endpoint's baseModels:
// {"relation":R,"models":[{"_id","id"}…]} (the shape hub-api.md gives from
// third-party notes). Inferred: only parents on the Hub are listed (a
// missing repo has no _id), under their canonical ids, private ones left
// out; several parents make a merge; a model without parents has no
// baseModels at all.
func (s *Server) baseModels(m *Model) (any, bool) {
	ids, rels := parents(m)
	var models []map[string]string
	rel := ""
	for _, id := range ids {
		p, renamed, ok := s.World.lookup(id)
		if renamed != "" {
			p, _, ok = s.World.lookup(renamed)
		}
		if !ok || p.Private || p.ID == m.ID {
			continue
		}
		models = append(models, map[string]string{"_id": fmt.Sprintf("%024x", hash(p.ID)), "id": p.ID})
		if rel == "" {
			rel = rels[id]
		}
	}
	if len(models) == 0 {
		return nil, false
	}
	if len(models) > 1 {
		rel = "merge"
	}
	return map[string]any{"relation": rel, "models": models}, true
}

// render shapes a model as the Hub does: with expand, only _id, id and the
// named fields; without, the endpoint's default set (for a listing, grown
// by full=true, cardData=true and config=true).
func (s *Server) render(m Model, expand []string, single bool, q url.Values) map[string]any {
	var names []string
	switch {
	case len(expand) > 0:
		names = append([]string{"_id", "id"}, expand...)
	case single:
		names = modelDefault
	default:
		names = listDefault
		if truthy(q.Get("full")) {
			names = append(names[:len(names):len(names)], listFull...)
		}
		if truthy(q.Get("cardData")) {
			names = append(names[:len(names):len(names)], "cardData")
		}
		if truthy(q.Get("config")) {
			names = append(names[:len(names):len(names)], "config")
		}
	}
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := s.field(&m, n); ok {
			out[n] = v
		}
	}
	return out
}

// truthy reads a boolean query parameter as the Hub's clients send them
// (full=true, full=True, full=1).
func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// checkExpand refuses what the Hub refuses in a request's expand[]: unknown
// properties, single-model ones on a listing, and expand together with
// full, cardData or config. It returns the error message, or "".
func checkExpand(q url.Values, single bool) string {
	expand := expandOf(q)
	for _, f := range expand {
		if !listExpand[f] && !(single && modelOnlyExpand[f]) {
			if modelOnlyExpand[f] {
				return fmt.Sprintf("invalid expand field %q for a model listing (only on /api/models/{repo_id})", f)
			}
			return fmt.Sprintf("invalid expand field %q", f)
		}
	}
	if len(expand) > 0 {
		for _, p := range []string{"full", "cardData", "config"} {
			if truthy(q.Get(p)) {
				// The Hub's wording is not recorded; hub-api.md: "expand
				// cannot be combined with full, cardData or config".
				return fmt.Sprintf("expand cannot be combined with %s", p)
			}
		}
	}
	return ""
}
