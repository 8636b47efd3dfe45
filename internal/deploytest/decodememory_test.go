package deploytest

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/testenv"
)

// TestDecodingMemoryIsBounded runs the real server and posts 12 pictures
// of the largest size allowed (7000×7000, 49 megapixels: 196 MB each once
// decoded) at once. The decode budget keeps the server's peak resident
// memory under 400 MB (each answer is the post's 302, or 503 with
// Retry-After for those that waited too long), and the memory goes back
// to the system afterwards: resident memory falls under 150 MB within
// seconds.
func TestDecodingMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 12 × 49 megapixels: skipped with -short")
	}
	picture := testenv.BlankPNG(t, 7000, 7000)
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		db := testenv.NewDatabase(t, backend)
		env := append(baseEnv(), "INSTA485_DATABASE="+db.DSN, "INSTA485_UPLOADS="+filepath.Join(t.TempDir(), "uploads"),
			"INSTA485_SECRET_KEY="+testenv.RandomName("deploytest-secret-0123456789abcdef-"))
		createDB(t, env)
		in := startInstance(t, "app", binary, env)
		c := newClient(t, "http://"+in.Addr)
		c.login("awdeorio", "chickens")
		tok := c.token("/accounts/edit/")
		pid := in.cmd.Process.Pid
		testenv.ResetPeakRSS(t, pid)

		const n = 12
		codes := make([]int, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], errs[i] = postPicture(c, tok, picture)
			}()
		}
		wg.Wait()
		peak := testenv.PeakRSS(t, pid)
		t.Logf("answers %v; peak RSS %d MB", codes, peak>>20)
		posted := 0
		for i, code := range codes {
			switch {
			case errs[i] != nil:
				t.Errorf("a large upload: %v", errs[i])
			case code == http.StatusFound:
				posted++
			case code != -http.StatusServiceUnavailable: // 503 with Retry-After
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
		if t.Failed() {
			t.Logf("server log:\n%s", in.logs())
		}
	})
}

// postPicture posts data as a new post and returns the status, negated for
// a 503 that carries Retry-After. It is safe to call from several
// goroutines.
func postPicture(c *client, token string, data []byte) (int, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("operation", "create")
	_ = mw.WriteField("csrf_token", token)
	fw, _ := mw.CreateFormFile("file", "big.png")
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.base+"/posts/?target=/", &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "" {
		return -res.StatusCode, nil
	}
	return res.StatusCode, nil
}
