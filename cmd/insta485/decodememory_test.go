package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/testenv"
)

// TestDecodingMemoryIsBounded runs the real server as a process of its own
// and posts 12 pictures of the largest size allowed (7000×7000, 49
// megapixels: 196 MB each once decoded) at once. The decode budget keeps
// the server's peak resident memory under 400 MB (each answer is the
// post's 302, or 503 with Retry-After for those that waited too long), and
// the memory goes back to the system afterwards: resident memory falls
// under 150 MB within seconds.
func TestDecodingMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 12 × 49 megapixels: skipped with -short")
	}
	bin := testenv.BuildInsta485(t)
	picture := testenv.BlankPNG(t, 7000, 7000)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		opts := testenv.NewDatabase(t, backend)
		uploads := filepath.Join(t.TempDir(), "uploads")
		if out, err := dbTool(t, opts, uploads, "create"); err != nil {
			t.Fatalf("db create: %v\n%s", err, out)
		}
		addr := freeLoopback(t)
		var logs bytes.Buffer
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "INSTA485_DATABASE="+opts.DSN, "INSTA485_UPLOADS="+uploads,
			"INSTA485_SECRET_KEY="+testenv.RandomName("decode-memory-secret-0123456789abcdef-"), "INSTA485_ADDR="+addr)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("server log:\n%s", logs.String())
			}
		}()
		base := "http://" + addr
		waitReady(t, base)
		c, token := loginForToken(t, base, "awdeorio", "chickens")
		pid := cmd.Process.Pid
		testenv.ResetPeakRSS(t, pid)

		const n = 12
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = postPicture(t, c, base, token, picture)
			}()
		}
		wg.Wait()
		peak := testenv.PeakRSS(t, pid)
		t.Logf("answers %v; peak RSS %d MB", codes, peak>>20)
		posted := 0
		for _, code := range codes {
			switch code {
			case http.StatusFound:
				posted++
			case -http.StatusServiceUnavailable: // 503 with Retry-After
			default:
				t.Errorf("a large upload = %d, want 302, or 503 with Retry-After", code)
			}
		}
		if posted == 0 {
			t.Error("no upload got through: the test measured nothing")
		}
		if peak > 400<<20 {
			t.Errorf("peak RSS during %d simultaneous 49-megapixel uploads = %d MB, want at most 400", n, peak>>20)
		}
		rss := testenv.RSS(t, pid)
		for deadline := time.Now().Add(10 * time.Second); rss >= 150<<20 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			rss = testenv.RSS(t, pid)
		}
		if rss >= 150<<20 {
			t.Errorf("RSS 10 s after the uploads = %d MB, want under 150", rss>>20)
		}
	})
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady waits until the server at base answers /readyz.
func waitReady(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s/readyz did not answer 200 within a minute", base)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginForToken logs in through the login form and returns the client and
// its session's CSRF token.
func loginForToken(t *testing.T, base, username, password string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	token := func(path string) string {
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		m := csrfField.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no CSRF token on %s (%d)", path, res.StatusCode)
		}
		return html.UnescapeString(string(m[1]))
	}
	form := url.Values{"operation": {"login"}, "username": {username}, "password": {password}, "csrf_token": {token("/accounts/login/")}}
	res, err := c.PostForm(base+"/accounts/?target=/", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("login = %d", res.StatusCode)
	}
	return c, token("/accounts/edit/")
}

// postPicture posts data as a new post and returns the status, negated for
// a 503 that carries Retry-After.
func postPicture(t *testing.T, c *http.Client, base, token string, data []byte) int {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("operation", "create")
	_ = mw.WriteField("csrf_token", token)
	fw, _ := mw.CreateFormFile("file", "big.png")
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/posts/?target=/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "" {
		return -res.StatusCode
	}
	return res.StatusCode
}
