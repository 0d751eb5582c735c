package main

import (
	"path/filepath"
	"strings"

	"github.com/hflineage/hflineage/query"
)

// exportExtensions maps the file extensions export knows (lower case) to
// the formats a file so named may hold, the one it implies first.
var exportExtensions = []struct {
	ext     string
	formats []string
}{
	{".nodes.csv", []string{"csv-nodes", "csv"}}, // before .csv: the longer match wins
	{".dot", []string{"dot"}},
	{".gv", []string{"dot"}},
	{".graphml", []string{"graphml"}},
	{".gexf", []string{"gexf"}},
	{".json", []string{"json"}},
	{".csv", []string{"csv", "csv-nodes"}},
	{".svg", []string{"svg"}},
	{".png", []string{"png"}},
	{".pdf", []string{"pdf"}},
}

// exportFormat decides export's format from --format and -o FILE: the
// format given, which FILE's extension, when export knows it, must not
// contradict (-o x.svg --format png is refused, naming both); else the
// format FILE's extension implies (x.gv: dot; x.nodes.csv: csv-nodes).
// Without --format, a FILE whose extension says nothing is refused with
// the extensions and formats there are; without either, format is ""
// (the Selection's check asks for --format).
func exportFormat(format, out string) (string, error) {
	if out == "" || out == "-" {
		return format, nil
	}
	lower := strings.ToLower(filepath.Base(out))
	var implied []string
	var ext string
	for _, e := range exportExtensions {
		if strings.HasSuffix(lower, e.ext) && len(lower) > len(e.ext) {
			ext, implied = e.ext, e.formats
			break
		}
	}
	switch {
	case format == "" && implied != nil:
		return implied[0], nil
	case format == "":
		var exts []string
		for _, e := range exportExtensions {
			exts = append(exts, e.ext)
		}
		return "", usagef("export: cannot tell the format from -o %s: give --format (%s) or name the file %s",
			out, strings.Join(query.ExportFormats, ", "), strings.Join(exts, ", "))
	case implied == nil:
		return format, nil // a name of the user's choosing, the format given
	}
	for _, f := range implied {
		if f == format {
			return format, nil
		}
	}
	return "", usagef("export: --format %s contradicts -o %s, a %s file (%s); drop --format or make them agree",
		format, out, strings.TrimPrefix(ext, "."), implied[0])
}
