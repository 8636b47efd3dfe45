package deploytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestGracefulShutdown sends SIGTERM while an upload is in flight (its
// body half sent) and sees the server stop accepting connections, finish
// the upload, and exit 0 with the post stored. It runs the binary directly
// and through bin/insta485run, which must hand the signal on (exec).
func TestGracefulShutdown(t *testing.T) {
	launchers := []struct {
		name string
		argv func(env []string) ([]string, []string)
	}{
		{"binary", func(env []string) ([]string, []string) { return []string{binary, "serve"}, env }},
		{"insta485run", func(env []string) ([]string, []string) {
			// The wrapper runs the insta485 it finds on PATH.
			path := filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH")
			return []string{filepath.Join(repoRoot, "bin", "insta485run")}, append(env, "PATH="+path)
		}},
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		for _, l := range launchers {
			t.Run(l.name, func(t *testing.T) { testGracefulShutdown(t, backend, l.argv) })
		}
	})
}

func testGracefulShutdown(t *testing.T, backend string, launch func(env []string) ([]string, []string)) {
	db := testenv.NewDatabase(t, backend)
	uploads, uploadEnv := uploadStore(t, "s3")
	env := append(baseEnv(), "INSTA485_DATABASE="+db.DSN, "INSTA485_UPLOADS="+uploads,
		"INSTA485_SECRET_KEY="+testenv.RandomName("deploytest-secret-0123456789abcdef-"))
	env = append(env, uploadEnv...)
	createDB(t, env)
	argv, env := launch(env)
	in := startInstance(t, "app", binary, env, argv...)

	c := newClient(t, "http://"+in.Addr)
	c.login("awdeorio", "chickens")
	tok := c.token("/accounts/edit/")

	// The upload form, to be sent in two halves.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("operation", "create")
	_ = mw.WriteField("csrf_token", tok)
	fw, _ := mw.CreateFormFile("file", "slow.png")
	_, _ = fw.Write(pngImage(t, 9, 256<<10))
	_ = mw.Close()
	conn, err := net.Dial("tcp", in.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := body.Len() / 2
	fmt.Fprintf(conn, "POST /posts/?target=/ HTTP/1.1\r\nHost: %s\r\nCookie: %s=%s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		in.Addr, auth.CookieName, c.cookie(auth.CookieName), mw.FormDataContentType(), body.Len())
	if _, err := conn.Write(body.Bytes()[:half]); err != nil {
		t.Fatal(err)
	}
	postsBefore := countPosts(t, db)
	waitFor(t, "the upload to be in flight", func() bool {
		return inFlight(t, in) == 1
	})

	in.signal(t, syscall.SIGTERM)
	// The server stops taking connections at once...
	waitFor(t, "the listener to close after SIGTERM", func() bool {
		c, err := net.DialTimeout("tcp", in.Addr, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return true
	})
	select {
	case <-in.exited:
		t.Fatalf("the server exited with an upload in flight: %v\n%s", in.waitErr, in.logs())
	default:
	}
	// ...and finishes the request it has.
	if _, err := conn.Write(body.Bytes()[half:]); err != nil {
		t.Fatalf("send the rest of the upload after SIGTERM: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight upload got no response after SIGTERM: %v\n%s", err, in.logs())
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Errorf("the in-flight upload = %d, want 302", res.StatusCode)
	}
	if err := in.wait(t, 20*time.Second); err != nil {
		t.Errorf("after SIGTERM the server exited with %v, want status 0\n%s", err, in.logs())
	}
	if got := countPosts(t, db); got != postsBefore+1 {
		t.Errorf("posts: %d before the upload, %d after; want one more", postsBefore, got)
	}
	if !strings.Contains(in.logs(), "insta485 stopped") {
		t.Errorf("the log does not say the server stopped:\n%s", in.logs())
	}
}

// inFlight reads the instance's requests-in-flight gauge.
func inFlight(t *testing.T, in *instance) float64 {
	t.Helper()
	v, _ := testenv.ScrapeMetrics(t, "http://"+in.MetricsAddr+"/metrics").Value("insta485_http_requests_in_flight", nil)
	return v
}

// TestStopUnderLoad posts comments and reads the feed through nginx from
// several clients while one of three instances is stopped. With SIGTERM
// no client sees a 5xx; with SIGKILL only requests in flight on the
// killed instance may fail, and only POSTs (nginx retries GETs). Either
// way every comment a client saw acknowledged (201) is in the database.
func TestStopUnderLoad(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cl := newCluster(t, 3, "s3")
			users := []string{"awdeorio", "jflinn", "michjc", "jag"}
			passwords := map[string]string{"awdeorio": "chickens"}
			clients := make([]*client, len(users))
			for i, u := range users {
				pw := passwords[u]
				if pw == "" {
					pw = "password"
				}
				clients[i] = newClient(t, cl.URL)
				clients[i].login(u, pw)
			}
			victim := cl.instances[0]

			const (
				before = 1500 * time.Millisecond // load before the signal
				after  = 2000 * time.Millisecond // and after it
			)
			var (
				mu      sync.Mutex
				results []result
			)
			start := time.Now()
			stop := start.Add(before + after)
			var wg sync.WaitGroup
			for w, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; time.Now().Before(stop) && i < 2000; i++ {
						r := loadStep(c, w, i)
						mu.Lock()
						results = append(results, r)
						mu.Unlock()
					}
				}()
			}
			time.Sleep(before)
			servedBefore := len(victim.requests(t))
			victim.signal(t, sig)
			wg.Wait()

			exit := victim.wait(t, 25*time.Second)
			if sig == syscall.SIGTERM && exit != nil {
				t.Errorf("after SIGTERM the instance exited with %v, want 0\n%s", exit, victim.logs())
			}
			if servedBefore == 0 {
				t.Fatalf("the stopped instance served nothing before the signal: the test proves nothing")
			}

			var acked []int64
			var failedPOST, failedGET, total int
			for _, r := range results {
				total++
				switch {
				case r.err != nil && sig == syscall.SIGTERM:
					t.Errorf("%s: %v", r.what, r.err)
				case r.status >= 500 || r.err != nil:
					if strings.HasPrefix(r.what, "GET") {
						failedGET++
					} else {
						failedPOST++
					}
					if sig == syscall.SIGTERM {
						t.Errorf("%s = %d during a graceful stop", r.what, r.status)
					}
				case r.commentID != 0:
					acked = append(acked, r.commentID)
				}
			}
			t.Logf("%v: %d requests, %d comments acknowledged, %d POSTs and %d GETs failed; the stopped instance had served %d",
				sig, total, len(acked), failedPOST, failedGET, servedBefore)
			if t.Failed() {
				t.Logf("nginx error log:\n%s", cl.nginx.errorLog())
			}
			if sig == syscall.SIGKILL {
				if failedGET > 0 {
					t.Errorf("%d GETs failed: nginx should have retried them on another instance", failedGET)
				}
				// Each client has at most one request in flight.
				if failedPOST > len(clients) {
					t.Errorf("%d POSTs failed, more than the %d that can have been in flight on the killed instance", failedPOST, len(clients))
				}
			}
			if len(acked) < 10 {
				t.Fatalf("only %d comments acknowledged: the load did not run", len(acked))
			}
			if missing := missingComments(t, cl.DSN, acked); len(missing) > 0 {
				t.Errorf("%d acknowledged comments are not in the database: %v", len(missing), missing)
			}
		})
	}
}

// result is what one request of the load got.
type result struct {
	what      string
	status    int
	err       error
	commentID int64 // of an acknowledged comment
}

// loadStep is request i of client w: mostly comments, with feed and post
// reads between them.
func loadStep(c *client, w, i int) result {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var req *http.Request
	switch i % 3 {
	case 0, 1:
		text, _ := json.Marshal(map[string]string{"text": fmt.Sprintf("load %d.%d", w, i)})
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/comments/?postid=3", bytes.NewReader(text))
		req.Header.Set("Content-Type", "application/json")
	default:
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/posts/3/", nil)
	}
	what := req.Method + " " + req.URL.RequestURI()
	res, err := c.http.Do(req)
	if err != nil {
		return result{what: what, err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return result{what: what, status: res.StatusCode, err: err}
	}
	r := result{what: what, status: res.StatusCode}
	if req.Method == http.MethodPost && res.StatusCode == http.StatusCreated {
		var cm struct {
			CommentID int64 `json:"commentid"`
		}
		if err := json.Unmarshal(body, &cm); err != nil || cm.CommentID == 0 {
			r.err = fmt.Errorf("201 without a comment id: %q", body)
		}
		r.commentID = cm.CommentID
	} else if res.StatusCode >= 300 && res.StatusCode < 500 {
		r.err = fmt.Errorf("status %d: %.200s", res.StatusCode, body)
	}
	return r
}

// createDB runs `insta485 db create` with env.
func createDB(t *testing.T, env []string) {
	t.Helper()
	cmd := exec.Command(binary, "db", "create")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("insta485 db create: %v\n%s", err, out)
	}
}

func pgConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// countPosts counts awdeorio's posts, through the storage API (on either
// backend).
func countPosts(t *testing.T, opts storage.Options) int {
	t.Helper()
	ctx := context.Background()
	store, err := dbadmin.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	posts, err := store.PostsByOwner(ctx, "awdeorio")
	if err != nil {
		t.Fatal(err)
	}
	return len(posts)
}

// missingComments returns the ids of ids that are not in the database.
func missingComments(t *testing.T, dsn string, ids []int64) []int64 {
	t.Helper()
	rows, err := pgConn(t, dsn).Query(context.Background(), "SELECT commentid FROM comments WHERE commentid = ANY($1)", ids)
	if err != nil {
		t.Fatal(err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, id := range found {
		have[id] = true
	}
	var missing []int64
	for _, id := range ids {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	return missing
}
