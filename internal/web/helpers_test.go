package web_test

import (
	"bytes"
	"context"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/testenv"
)

// client is a browser without JavaScript: it keeps cookies, does not follow
// redirects (tests check them), and fills in CSRF tokens the way a person
// submitting the page's forms would.
type client struct {
	t    testing.TB
	app  *testenv.App
	http *http.Client
	// csrf is the token of the session's forms, read from a page after login.
	csrf string
	// anonToken is the token of the login form this client last saw, bound
	// to its anonymous csrf cookie.
	anonToken string
}

func newClient(t testing.TB, app *testenv.App) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, app: app, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// with returns a copy of c that reports to t, for use in a subtest.
func (c *client) with(t testing.TB) *client {
	cp := *c
	cp.t = t
	return &cp
}

// response is what the server answered.
type response struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return response{Status: res.StatusCode, Location: res.Header.Get("Location"), Header: res.Header, Body: string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.app.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// upload is a file field of a form.
type upload struct {
	Name string
	Data []byte
}

// post sends fields (and the file, when not nil, as field "file") as
// multipart/form-data, exactly as given: no token is added.
func (c *client) post(path string, fields map[string]string, file *upload) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			c.t.Fatal(err)
		}
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", file.Name)
		if err != nil {
			c.t.Fatal(err)
		}
		if _, err := fw.Write(file.Data); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.app.URL+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// postURLEncoded sends fields as application/x-www-form-urlencoded,
// exactly as given: no token is added.
func (c *client) postURLEncoded(path string, fields map[string]string) response {
	c.t.Helper()
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	req, err := http.NewRequest(http.MethodPost, c.app.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// submit is post with the session's CSRF token added.
func (c *client) submit(path string, fields map[string]string, file *upload) response {
	c.t.Helper()
	all := map[string]string{"csrf_token": c.token()}
	for k, v := range fields {
		all[k] = v
	}
	return c.post(path, all, file)
}

// token returns the CSRF token of the logged-in session's forms, read from
// the edit page as a client would.
func (c *client) token() string {
	c.t.Helper()
	if c.csrf == "" {
		res := c.get("/accounts/edit/")
		if res.Status != http.StatusOK {
			c.t.Fatalf("GET /accounts/edit/ for a CSRF token: status %d, want 200 (not logged in?)", res.Status)
		}
		c.csrf = csrfToken(c.t, res.Body)
	}
	return c.csrf
}

// login logs in through the login page and its form.
func (c *client) login(username, password string) {
	c.t.Helper()
	if res := c.tryLogin(username, password); res.Status != http.StatusFound || res.Location != "/" {
		c.t.Fatalf("login as %s: status %d to %q, want 302 to /\n%s", username, res.Status, res.Location, res.Body)
	}
	c.csrf = ""
}

func (c *client) tryLogin(username, password string) response {
	c.t.Helper()
	page := c.get("/accounts/login/")
	if page.Status != http.StatusOK {
		c.t.Fatalf("GET /accounts/login/: status %d, want 200", page.Status)
	}
	c.anonToken = csrfToken(c.t, page.Body)
	return c.post("/accounts/?target=/", map[string]string{
		"operation": "login", "username": username, "password": password, "csrf_token": c.anonToken,
	}, nil)
}

// cookie returns the value of the cookie name the client would send to path.
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.app.URL + "/accounts/")
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

var csrfInput = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([^"]+)">`)

func csrfToken(t testing.TB, body string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token field in page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// Page text, links and forms, read the way the classic tests read them
// (BeautifulSoup's get_text, href and src attributes). A regexp does for
// markup this package writes itself.
var (
	invisible = regexp.MustCompile(`(?is)<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<!doctype[^>]*>`)
	anyTag    = regexp.MustCompile(`(?s)<[^>]*>`)
	spaces    = regexp.MustCompile(`\s+`)
	anchorTag = regexp.MustCompile(`(?is)<a\b[^>]*>`)
	imgTag    = regexp.MustCompile(`(?is)<img\b[^>]*>`)
	formBlock = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputTag  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	// linkOrScript matches <link> and <script> start tags.
	linkOrScript = regexp.MustCompile(`(?is)<(?:link|script)\b([^>]*)>`)
	attribute    = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?`)
)

// pageText is the text a reader sees, whitespace collapsed, title included.
func pageText(body string) string {
	s := invisible.ReplaceAllString(body, "")
	s = anyTag.ReplaceAllString(s, "")
	return strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(s), " "))
}

func attrs(tagInner string) map[string]string {
	out := map[string]string{}
	for _, m := range attribute.FindAllStringSubmatch(tagInner, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func tagAttr(re *regexp.Regexp, body, name string) []string {
	var out []string
	for _, tag := range re.FindAllString(body, -1) {
		inner := strings.TrimSuffix(strings.TrimPrefix(tag, "<"), ">")
		if v, ok := attrs(inner)[name]; ok {
			out = append(out, v)
		}
	}
	return out
}

func links(body string) []string { return tagAttr(anchorTag, body, "href") }
func srcs(body string) []string  { return tagAttr(imgTag, body, "src") }

// form is a parsed <form>: its attributes and its inputs' attributes.
type form struct {
	Attrs  map[string]string
	Inputs []map[string]string
}

// hidden returns the form's hidden fields.
func (f form) hidden() map[string]string {
	out := map[string]string{}
	for _, in := range f.Inputs {
		if in["type"] == "hidden" {
			out[in["name"]] = in["value"]
		}
	}
	return out
}

func forms(body string) []form {
	var out []form
	for _, m := range formBlock.FindAllStringSubmatch(body, -1) {
		f := form{Attrs: attrs(m[1])}
		for _, in := range inputTag.FindAllStringSubmatch(m[2], -1) {
			f.Inputs = append(f.Inputs, attrs(in[1]))
		}
		out = append(out, f)
	}
	return out
}

// findForm returns the page's form with action whose hidden fields include
// hidden.
func findForm(body, action string, hidden map[string]string) (form, bool) {
	for _, f := range forms(body) {
		if f.Attrs["action"] != action {
			continue
		}
		h := f.hidden()
		match := true
		for k, v := range hidden {
			match = match && h[k] == v
		}
		if match {
			return f, true
		}
	}
	return form{}, false
}

// snapshot is the whole state a request could change: every table's rows
// and the upload store's files.
func snapshot(t testing.TB, app *testenv.App) string {
	t.Helper()
	var b strings.Builder
	if err := dbadmin.Dump(context.Background(), app.Store, &b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("files:\n")
	for _, f := range app.UploadFiles(t) {
		b.WriteString(f + "\n")
	}
	return b.String()
}

// pngImage returns a small valid PNG.
func pngImage(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{200, 40, 90, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Sample data of SPEC §2 that tests refer to.
const (
	awdeorioPhoto = "e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg"
	post1Image    = "122a7d27ca1d7420a1072f695d9290fad4501a41.jpg"
	post2Image    = "ad7790405c539894d25ab8dcf0b79eed3341e109.jpg"
	post3Image    = "9887e06812ef434d291e4936417d125cd594b38a.jpg"
	post4Image    = "2ec7cf8ae158b3b1f40065abfb33e81143707842.jpg"
)

// passwords are the sample users' passwords.
var passwords = map[string]string{"awdeorio": "chickens", "jflinn": "password", "michjc": "password", "jag": "password"}

// loggedIn returns a client logged in as username on app.
func loggedIn(t testing.TB, app *testenv.App, username string) *client {
	t.Helper()
	c := newClient(t, app)
	c.login(username, passwords[username])
	return c
}
