package anthropic

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/infergw/gwctl/pkg/jsonvalue"
)

// Anthropic attaches citations to the text block they support (web search splits an answer
// into several text blocks for this). A URL citation becomes an OpenAI url_citation
// annotation whose start_index and end_index delimit that block inside message.content,
// counted in characters (Unicode code points, as Python's str and so LiteLLM count them).
// Citations without a URL (char_location, page_location, content_block_location, …) are
// dropped: OpenAI has no annotation for them.

// urlCitation returns the web page a citation names, if it names one.
func (c *citation) urlCitation() (url, title string, ok bool) {
	switch c.Type {
	case "web_search_result_location":
		return c.URL, c.Title, c.URL != ""
	case "search_result_location":
		if isHTTPURL(c.Source) {
			return c.Source, c.Title, true
		}
	}
	return "", "", false
}

func isHTTPURL(s string) bool {
	return len(s) > 8 && (strings.EqualFold(s[:7], "http://") || strings.EqualFold(s[:8], "https://"))
}

// appendAnnotation appends one url_citation annotation; first says whether it opens the list.
func appendAnnotation(b []byte, first bool, url, title string, start, end int) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, `{"type":"url_citation","url_citation":{"url":`...)
	b = jsonvalue.AppendStringNoHTML(b, url)
	b = append(b, `,"title":`...)
	b = jsonvalue.AppendStringNoHTML(b, title)
	b = append(b, `,"start_index":`...)
	b = strconv.AppendInt(b, int64(start), 10)
	b = append(b, `,"end_index":`...)
	b = strconv.AppendInt(b, int64(end), 10)
	return append(b, `}}`...)
}

// literalRunes counts the characters of the string a valid JSON string literal (with its
// quotes) decodes to, the way encoding/json decodes it: an escape is one character (a
// surrogate pair too), and each byte of invalid UTF-8 is one U+FFFD.
func literalRunes(lit []byte) int {
	s := lit[1 : len(lit)-1]
	n := 0
	for {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return n + utf8.RuneCount(s)
		}
		n += utf8.RuneCount(s[:i]) + 1
		if s[i+1] != 'u' {
			s = s[i+2:]
			continue
		}
		r := hex4(s[i+2 : i+6])
		s = s[i+6:]
		// A high surrogate followed by a low one decodes to one character.
		if r >= 0xD800 && r < 0xDC00 && len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
			if lo := hex4(s[2:6]); lo >= 0xDC00 && lo < 0xE000 {
				s = s[6:]
			}
		}
	}
}

// hex4 decodes four hex digits (already validated by the caller's JSON check).
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
