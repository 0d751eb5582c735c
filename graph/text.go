package graph

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTextLen bounds, in bytes, each free-text field of a model as stored
// (see CleanModel): as long as the longest listed id, which an author's
// name is normally part of.
const MaxTextLen = MaxListedIDLen

// CleanModel returns m with its free-text fields (Author, LibraryName,
// PipelineTag, Gated, License: strings the Hub takes from whoever owns the
// repo) made safe to show: invalid UTF-8 becomes U+FFFD; bidi controls
// (which reorder what is shown: an author "gnp\u202Eexe.png" shows as
// "gnpgnp.exe"), zero-width and other invisible characters (Unicode's
// format characters and other default-ignorable code points) and control
// characters are dropped, except that line breaks and tabs become spaces;
// spaces at either end are trimmed; and each field is cut, at a character
// boundary, to at most MaxTextLen bytes ending in "…". Negative downloads
// and likes, which the Hub never reports (they made the explorer's node
// sizes NaN), become 0. The id and the tags are left as they are: ids are
// screened when listed (ParseListedID refuses invisible and control
// characters), and tags are read, not shown. Text that is plain printable
// ASCII within the bound is returned as it is, without copying.
func CleanModel(m Model) Model {
	m.Downloads, m.Likes = max(m.Downloads, 0), max(m.Likes, 0)
	m.DownloadsAllTime.N = max(m.DownloadsAllTime.N, 0)
	m.Author = cleanText(m.Author)
	m.LibraryName = cleanText(m.LibraryName)
	m.PipelineTag = cleanText(m.PipelineTag)
	m.Gated = cleanText(m.Gated)
	m.License = cleanText(m.License)
	return m
}

func cleanText(s string) string {
	plain := len(s) <= MaxTextLen
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain && (s == "" || s[0] != ' ' && s[len(s)-1] != ' ') {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == 0x85 || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case unicode.IsControl(r) || invisible(r):
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > MaxTextLen {
		cut := MaxTextLen - len("…")
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}

// invisible reports whether r is drawn as nothing, or changes how the text
// around it is drawn, and carries no meaning of its own in a name: format
// characters (bidi controls, zero-width spaces and joiners, the BOM, soft
// hyphens, tag characters) and Unicode's other default-ignorable code
// points (Hangul fillers, the combining grapheme joiner, …). Variation
// selectors, which choose how an emoji looks, are kept.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}
