package web

import (
	"bytes"
	"html/template"
	"strings"
)

// The posts of the feed and post pages and the pictures of a user page's
// grid are written by the Go code in this file, not by html/template:
// html/template calls each escaper it adds to an action through
// reflection, and a feed page holds about 400 such actions, which made
// its escapers half the server's time on GET / (docs/pages.md). The
// escaping stays contextual, decided here once per place instead of per
// request: each value goes through the function that does what
// html/template does in that context, byte for byte:
//
//   - writeText: text and quoted attribute values (html/template's
//     htmlEscaper and attrEscaper, which share a table);
//   - writeURLPart: a value inside a URL attribute after a fixed prefix,
//     like href="/users/{{.Owner}}/" (urlNormalizer, then attrEscaper);
//   - writeURL: a whole URL attribute, like action="{{.LikeAction}}"
//     (urlFilter, urlNormalizer, attrEscaper);
//   - writeSrcsetValue: a srcset attribute (srcsetFilterAndEscaper, then
//     attrEscaper).
//
// The result is passed to the page templates as template.HTML, built from
// escaped parts only. TestMarkupMatchesHTMLTemplate renders the same
// views, hostile text and all, through the html/template definitions
// these functions replace (testdata/posts.html) and requires the same
// bytes; change both together.

// htmlEscapes is html/template's htmlReplacementTable: what text and
// quoted attribute values replace.
var htmlEscapes = [...]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

// writeText writes s escaped for HTML text or a quoted attribute value.
func writeText(b *bytes.Buffer, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if int(c) >= len(htmlEscapes) || htmlEscapes[c] == "" {
			continue
		}
		b.WriteString(s[written:i])
		b.WriteString(htmlEscapes[c])
		written = i + 1
	}
	b.WriteString(s[written:])
}

// writeURLPart writes s as html/template writes a value placed in a URL
// attribute after a fixed path: characters a URL may hold stay (an escape
// %XX too), the others are percent-encoded as UTF-8 bytes, and what is
// left is escaped for the attribute.
func writeURLPart(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var rep string
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("!#$*,/:;=?@[]-._~", c) >= 0:
			continue
		case c == '&':
			rep = "&amp;"
		case c == '+':
			rep = "&#43;"
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			continue
		}
		b.WriteString(s[written:i])
		if rep != "" {
			b.WriteString(rep)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
		written = i + 1
	}
	b.WriteString(s[written:])
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// writeURL writes s as a whole URL attribute: as writeURLPart, but a URL
// whose scheme is not http, https or mailto is replaced by html/template's
// "#ZgotmplZ".
func writeURL(b *bytes.Buffer, s string) {
	if !safeURL(s) {
		b.WriteString("#ZgotmplZ")
		return
	}
	writeURLPart(b, s)
}

// safeURL is html/template's isSafeURL: a relative URL, or one with a
// scheme it allows.
func safeURL(s string) bool {
	protocol, _, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(protocol, "/") {
		return true
	}
	return strings.EqualFold(protocol, "http") || strings.EqualFold(protocol, "https") || strings.EqualFold(protocol, "mailto")
}

// writeSrcset writes the srcset and sizes attributes of an upload's img,
// nothing when srcset is empty. sizes is a constant of this file.
func writeSrcset(b *bytes.Buffer, srcset, sizes string) {
	if srcset == "" {
		return
	}
	b.WriteString(` srcset="`)
	writeSrcsetValue(b, srcset)
	b.WriteString(`" sizes="`)
	b.WriteString(sizes)
	b.WriteByte('"')
}

// writeSrcsetValue writes s as html/template writes a srcset attribute
// (srcsetFilterAndEscaper): each comma-separated candidate's URL must be
// safe and normalized, its descriptor only spaces and letters or digits,
// else the candidate becomes "#ZgotmplZ".
func writeSrcsetValue(b *bytes.Buffer, s string) {
	for {
		candidate, rest, more := strings.Cut(s, ",")
		start := 0
		for start < len(candidate) && isHTMLSpace(candidate[start]) {
			start++
		}
		end := start
		for end < len(candidate) && !isHTMLSpace(candidate[end]) {
			end++
		}
		if url, meta := candidate[start:end], candidate[end:]; safeURL(url) && strings.Trim(meta, spaceOrAlnum) == "" {
			b.WriteString(candidate[:start])
			writeURLPart(b, url)
			b.WriteString(meta)
		} else {
			b.WriteString("#ZgotmplZ")
		}
		if !more {
			return
		}
		b.WriteByte(',')
		s = rest
	}
}

const spaceOrAlnum = "\t\n\f\r 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func isHTMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// writeCSRF writes the hidden field carrying the CSRF token.
func writeCSRF(b *bytes.Buffer, token string) {
	b.WriteString(`<input type="hidden" name="csrf_token" value="`)
	writeText(b, token)
	b.WriteString(`">`)
}

// postsMarkup renders posts, each as the feed and the post page show it.
// The result shares one string: one allocation for a page.
func postsMarkup(posts []postView) []template.HTML {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	ends := make([]int, len(posts))
	for i := range posts {
		writePost(buf, &posts[i])
		ends[i] = buf.Len()
	}
	return split(buf.String(), ends)
}

// thumbsMarkup renders the grid items of a user page.
func thumbsMarkup(thumbs []thumbView) []template.HTML {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	ends := make([]int, len(thumbs))
	for i := range thumbs {
		writeThumb(buf, &thumbs[i])
		ends[i] = buf.Len()
	}
	return split(buf.String(), ends)
}

// split cuts s at ends into pieces of trusted markup.
func split(s string, ends []int) []template.HTML {
	out := make([]template.HTML, len(ends))
	start := 0
	for i, end := range ends {
		out[i] = template.HTML(s[start:end]) //nolint:gosec // built from escaped parts
		start = end
	}
	return out
}

// writePost writes one post (an article element).
func writePost(b *bytes.Buffer, p *postView) {
	b.WriteString(`<article class="post" data-postid="`)
	writeText(b, p.ID)
	b.WriteString("\">\n<header class=\"post-header\">\n<a class=\"post-owner\" href=\"/users/")
	writeURLPart(b, p.Owner)
	b.WriteString(`/"><img class="avatar" src="/uploads/`)
	writeURLPart(b, p.OwnerFilename)
	b.WriteString(`" alt="Profile photo of `)
	writeText(b, p.Owner)
	b.WriteString(`" width="32" height="32"`)
	if p.Lazy {
		b.WriteString(` loading="lazy"`)
	}
	writeSrcset(b, p.OwnerSrcset, "32px")
	b.WriteString(`><span class="username">`)
	writeText(b, p.Owner)
	b.WriteString("</span></a>\n<a class=\"post-time\" href=\"/posts/")
	writeURLPart(b, p.ID)
	b.WriteString(`/" data-testid="post-time-ago"><time datetime="`)
	writeText(b, p.Created)
	b.WriteString(`">`)
	writeText(b, p.Ago)
	b.WriteString("</time></a>\n</header>\n<img class=\"post-image")
	if p.Placeholder != "" {
		b.WriteByte(' ')
		writeText(b, p.Placeholder)
	}
	b.WriteString(`" src="/uploads/`)
	writeURLPart(b, p.Filename)
	b.WriteString(`" alt="Photo posted by `)
	writeText(b, p.Owner)
	b.WriteByte('"')
	if p.Width != "" {
		b.WriteString(` width="`)
		writeText(b, p.Width)
		b.WriteString(`" height="`)
		writeText(b, p.Height)
		b.WriteByte('"')
	}
	if p.Lazy {
		b.WriteString(` loading="lazy"`)
	}
	writeSrcset(b, p.Srcset, "(max-width: 614px) 100vw, 614px")
	b.WriteString(">\n<div class=\"post-body\">\n<div class=\"post-actions\">\n<form class=\"inline\" action=\"")
	writeURL(b, p.LikeAction)
	b.WriteString("\" method=\"post\" enctype=\"multipart/form-data\">\n")
	writeCSRF(b, p.CSRF)
	if p.Liked {
		b.WriteString("\n<input type=\"hidden\" name=\"operation\" value=\"unlike\">\n<input type=\"hidden\" name=\"postid\" value=\"")
		writeText(b, p.ID)
		b.WriteString("\">\n<input class=\"btn like-button liked\" type=\"submit\" name=\"unlike\" value=\"unlike\" data-testid=\"like-unlike-button\">\n</form>")
	} else {
		b.WriteString("\n<input type=\"hidden\" name=\"operation\" value=\"like\">\n<input type=\"hidden\" name=\"postid\" value=\"")
		writeText(b, p.ID)
		b.WriteString("\">\n<input class=\"btn like-button\" type=\"submit\" name=\"like\" value=\"like\" data-testid=\"like-unlike-button\">\n</form>")
	}
	b.WriteString("\n<span class=\"post-likes\">")
	writeText(b, p.Likes)
	b.WriteString("</span>\n</div>\n<ul class=\"post-comments\">")
	for i := range p.Comments {
		c := &p.Comments[i]
		b.WriteString("\n<li class=\"comment\"><a class=\"comment-owner\" href=\"/users/")
		writeURLPart(b, c.Owner)
		b.WriteString(`/">`)
		writeText(b, c.Owner)
		b.WriteString(`</a> <span class="comment-text" data-testid="comment-text">`)
		writeText(b, c.Text)
		b.WriteString("</span>")
		if c.Deletable {
			b.WriteString("\n<form class=\"inline\" action=\"")
			writeURL(b, p.CommentAction)
			b.WriteString("\" method=\"post\" enctype=\"multipart/form-data\">\n")
			writeCSRF(b, p.CSRF)
			b.WriteString("\n<input type=\"hidden\" name=\"operation\" value=\"delete\">\n<input type=\"hidden\" name=\"commentid\" value=\"")
			writeText(b, c.ID)
			b.WriteString("\">\n<input class=\"btn delete-comment\" type=\"submit\" name=\"uncomment\" value=\"delete\" data-testid=\"delete-comment-button\">\n</form>")
		}
		b.WriteString("\n</li>")
	}
	b.WriteString("\n</ul>\n<form class=\"comment-form\" action=\"")
	writeURL(b, p.CommentAction)
	b.WriteString("\" method=\"post\" enctype=\"multipart/form-data\" data-testid=\"comment-form\">\n")
	writeCSRF(b, p.CSRF)
	b.WriteString("\n<input type=\"hidden\" name=\"operation\" value=\"create\">\n<input type=\"hidden\" name=\"postid\" value=\"")
	writeText(b, p.ID)
	b.WriteString("\">\n<input class=\"comment-input\" type=\"text\" name=\"text\" aria-label=\"Add a comment\" placeholder=\"Add a comment…\" maxlength=\"1024\" required autocomplete=\"off\">\n<input class=\"btn\" type=\"submit\" name=\"comment\" value=\"comment\">\n</form>")
	if p.DeleteAction != "" {
		b.WriteString("\n<form class=\"delete-post\" action=\"")
		writeURL(b, p.DeleteAction)
		b.WriteString("\" method=\"post\" enctype=\"multipart/form-data\">\n")
		writeCSRF(b, p.CSRF)
		b.WriteString("\n<input type=\"hidden\" name=\"operation\" value=\"delete\">\n<input type=\"hidden\" name=\"postid\" value=\"")
		writeText(b, p.ID)
		b.WriteString("\">\n<input class=\"btn btn-danger\" type=\"submit\" name=\"delete\" value=\"delete this post\">\n</form>")
	}
	b.WriteString("\n</div>\n</article>")
}

// writeThumb writes one picture of a user page's grid (an li element).
func writeThumb(b *bytes.Buffer, t *thumbView) {
	b.WriteString(`<li><a href="/posts/`)
	writeURLPart(b, t.ID)
	b.WriteString(`/"><img`)
	if t.Placeholder != "" {
		b.WriteString(` class="`)
		writeText(b, t.Placeholder)
		b.WriteByte('"')
	}
	b.WriteString(` src="/uploads/`)
	writeURLPart(b, t.Filename)
	b.WriteString(`" alt="Post `)
	writeText(b, t.ID)
	b.WriteByte('"')
	if t.Width != "" {
		b.WriteString(` width="`)
		writeText(b, t.Width)
		b.WriteString(`" height="`)
		writeText(b, t.Height)
		b.WriteByte('"')
	}
	if t.Lazy {
		b.WriteString(` loading="lazy"`)
	}
	writeSrcset(b, t.Srcset, "(max-width: 614px) 33vw, 205px")
	b.WriteString("></a></li>")
}
