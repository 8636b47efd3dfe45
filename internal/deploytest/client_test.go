package deploytest

import (
	"bytes"
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
	"sync"
	"testing"
)

// client is a browser without JavaScript talking to the site through
// nginx: it keeps cookies, does not follow redirects, and remembers the
// request id of every response, so a test can tell which instance served
// each request.
type client struct {
	t    testing.TB
	base string
	http *http.Client

	mu  sync.Mutex
	ids []string // X-Request-Id of every response, in order
}

func newClient(t testing.TB, base string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	Status   int
	Location string
	Body     string
	ID       string
	Header   http.Header
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
	id := res.Header.Get("X-Request-Id")
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
	return response{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(b), ID: id, Header: res.Header}
}

// get fetches path and fails t unless the status is want.
func (c *client) get(path string, want int) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	res := c.do(req)
	if res.Status != want {
		c.t.Fatalf("GET %s = %d, want %d\n%.500s", path, res.Status, want, res.Body)
	}
	return res
}

// post sends fields (and file, when not nil, as field "file") as
// multipart/form-data and fails t unless the status is want.
func (c *client) post(path string, fields map[string]string, file []byte, want int) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "picture.png")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.base+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res := c.do(req)
	if res.Status != want {
		c.t.Fatalf("POST %s = %d, want %d\n%.500s", path, res.Status, want, res.Body)
	}
	return res
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token returns the CSRF token of the form on the page at path.
func (c *client) token(path string) string {
	c.t.Helper()
	m := csrfInput.FindStringSubmatch(c.get(path, http.StatusOK).Body)
	if m == nil {
		c.t.Fatalf("GET %s: no CSRF token in the page", path)
	}
	return m[1]
}

// login logs in through the login form.
func (c *client) login(username, password string) {
	c.t.Helper()
	tok := c.token("/accounts/login/")
	c.post("/accounts/?target=/", map[string]string{
		"operation": "login", "username": username, "password": password, "csrf_token": tok,
	}, nil, http.StatusFound)
}

// cookie returns the value of the named cookie the client holds.
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base + "/")
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// pngImage returns a small PNG, different for each seed, padded to at
// least size bytes (padding after the image end is ignored by decoders).
func pngImage(t testing.TB, seed uint8, size int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{R: seed, G: uint8(x * 30), B: uint8(y * 30), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if b.Len() < size {
		b.Write(make([]byte, size-b.Len()))
	}
	return b.Bytes()
}

var postLink = regexp.MustCompile(`href="/posts/(\d+)/"`)

func contains(s, sub string) bool { return strings.Contains(s, sub) }
