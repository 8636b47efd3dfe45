package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/server"
)

//go:embed templates
var templateFS embed.FS

// base is what every page's layout needs; each page's data embeds it.
type base struct {
	Title   string
	Logname string // empty for a visitor: the nav bar then shows no user links
	// LiveFeed loads the client-side feed script (the feed page only).
	LiveFeed bool
}

var templateFuncs = template.FuncMap{
	"ago":    func(t time.Time) string { return timeAgo(t, time.Now()) },
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"count":  count,
	"target": withTarget,
	"sizes":  imgSizes,
}

// imgSrcset is what the "srcset" template needs for one img.
type imgSrcset struct{ Srcset, Sizes string }

// imgSizes pairs the srcset of upload filename with the img's sizes
// attribute, which says how wide the img is laid out. A name that is not
// an upload's gets none, and the img keeps only its src.
func imgSizes(filename, sizes string) imgSrcset {
	set := cachedSrcset(filename)
	if set == "" {
		return imgSrcset{}
	}
	return imgSrcset{set, sizes}
}

// srcset is the srcset of upload filename: its width variants, then the
// upload itself, at most media.MaxSide wide; empty for a name that is not
// an upload's.
func srcset(filename string) string {
	if !blob.ValidName(filename) {
		return ""
	}
	if _, w := blob.MainName(filename); w != 0 {
		return ""
	}
	var b strings.Builder
	for _, w := range media.VariantWidths {
		fmt.Fprintf(&b, "/uploads/%s %dw, ", blob.VariantName(filename, w), w)
	}
	fmt.Fprintf(&b, "/uploads/%s %dw", filename, media.MaxSide)
	return b.String()
}

// srcsets remembers the srcsets worked out lately: an upload's name never
// changes what its srcset is, a feed page shows the same avatars again and
// again, and checking a name costs a regular expression. It is emptied
// when full, which bounds it to a megabyte or so.
var srcsets = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

const maxSrcsets = 4096

// cachedSrcset is srcset(filename), from srcsets when it is there.
func cachedSrcset(filename string) string {
	srcsets.RLock()
	set, ok := srcsets.m[filename]
	srcsets.RUnlock()
	if ok {
		return set
	}
	set = srcset(filename)
	srcsets.Lock()
	if len(srcsets.m) >= maxSrcsets {
		srcsets.m = make(map[string]string, maxSrcsets)
	}
	srcsets.m[filename] = set
	srcsets.Unlock()
	return set
}

// pages are the page templates by file name, each parsed together with the
// layout and the shared partials.
var pages = parsePages()

func parsePages() map[string]*template.Template {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, e := range names {
		n := e.Name()
		if n == "layout.html" || n == "partials.html" {
			continue
		}
		out[n] = template.Must(template.New(n).Funcs(templateFuncs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", "templates/"+n))
	}
	return out
}

// render writes page name with data and status. The page is rendered into a
// buffer first so that a template error turns into a clean error page, not
// half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := pages[name]
	if !ok {
		h.serverError(w, r, fmt.Errorf("no page template %q", name))
		return
	}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := t.ExecuteTemplate(buf, "layout", data); err != nil {
		h.serverError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	// Pages hold personal data and CSRF tokens: never cached by proxies,
	// always revalidated by the browser.
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("Content-Security-Policy", h.pageCSP())
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	// With its length known the page goes out in one piece, not chunked
	// (fewer writes to the socket for a page of tens of kilobytes).
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	setRetryAfter(w, status)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderBuffers keep the buffers pages are rendered into: a feed page is
// tens of kilobytes, grown anew for every request otherwise.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer returns buf to renderBuffers, unless one huge page (the
// explore page of a large site lists every user) made it too large to keep
// around.
func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}

// contentSecurityPolicy allows only this site's own scripts, styles and
// images: no inline script, no framing, forms posting only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentSecurityPolicyWithImages is contentSecurityPolicy with images
// from origin too.
func contentSecurityPolicyWithImages(origin string) string {
	return strings.Replace(contentSecurityPolicy, "img-src 'self';", "img-src 'self' "+origin+";", 1)
}

type errorPage struct {
	base
	Status  int
	Heading string
	Message string
}

// fail answers with a friendly error page: status, its reason phrase as
// the heading and msg saying what went wrong and what to do.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v viewer, status int, msg string) {
	h.render(w, r, status, "error.html", errorPage{
		base:    base{Title: http.StatusText(status), Logname: v.Logname()},
		Status:  status,
		Heading: http.StatusText(status),
		Message: msg,
	})
}

// serverError logs err with the request id and shows the generic error
// page, which names the id but never the error. A database outage or a
// saturated server is 503 with Retry-After instead: the client should
// try again, and must not take it for a logout.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if a, ok := server.Classify(err); ok && a.Outage != "" && !errors.Is(err, blob.ErrUnavailable) {
		h.log().Warn(a.Outage, "id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		server.Unavailable(w, r)
		return
	}
	h.log().Error("request failed", "id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	server.InternalError(w, r)
}

func requestID(r *http.Request) string { return server.RequestID(r.Context()) }

// count says n things in English: "0 likes", "1 like", "2 likes".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// byteSize says n bytes the way people read it: "16 MiB", "512 KiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// withTarget returns a form action: route with ?target=page. The page is a
// path of this site, so it is written as it is, slashes and all, the way
// clients of the classic site expect (`/likes/?target=/`).
func withTarget(route, page string) string {
	return route + "?target=" + targetEscaper.Replace(page)
}

// targetEscaper escapes what would end a target value or change its meaning.
var targetEscaper = strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "+", "%2B", " ", "%20")

// redirectTarget sends the browser to the form's target, or to def when it
// names none. Only paths on this site are followed, so a forged link cannot
// use the site to redirect to another one.
func redirectTarget(w http.ResponseWriter, r *http.Request, def string) {
	t := r.URL.Query().Get("target")
	if !localPath(t) {
		t = def
	}
	http.Redirect(w, r, t, http.StatusFound)
}

func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n\t")
}
