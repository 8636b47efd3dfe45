package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/app"
	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/metrics"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// applyDelay is how long the test replica waits before replaying a
// commit: long enough that a read served by it misses a just-made write.
const applyDelay = 2 * time.Second

// TestReadYourWritesWithReplicas runs two app instances (each its own store,
// as two servers behind a load balancer) on a primary with a replica that
// replays every commit two seconds late. A browser using the forms and an
// API client using HTTP Basic without keeping cookies write and at once
// read what they wrote, on the other instance: no read may miss the
// user's own write. A user who wrote nothing reads from the replica and
// sees the change once it has replayed it. Stopping the replica under load
// costs no request an error.
func TestReadYourWritesWithReplicas(t *testing.T) {
	pair := testenv.NewReplicaPair(t, applyDelay)
	opts := pair.NewDatabase(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	metricsA := metrics.New()
	a := testenv.NewApp(t, "postgres", testenv.OnDatabase(opts), testenv.WithMetrics(metricsA))
	metricsSrv := httptest.NewServer(metricsA.Handler(quiet))
	t.Cleanup(metricsSrv.Close)
	opts.Log = quiet
	storeB, err := dbadmin.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storeB.Close() })
	b := httptest.NewServer(app.New(app.Deps{Store: storeB, Media: a.Media, Secret: a.Secret,
		MaxUpload: 16 << 20, Log: quiet}))
	t.Cleanup(b.Close)
	instances := []*httptest.Server{a.Server, b}
	stores := []*storage.Store{a.Store, storeB}

	// Until the replica has replayed the sample data it serves nothing.
	for _, s := range stores {
		waitUntil(t, "the replica to serve reads", func() bool {
			_, _ = s.User(storage.WithMinLSN(context.Background(), 0), "jag")
			st := s.ReplicaStats()
			return st.Replicas[0].Healthy && st.Replicas[0].Reads > 0
		})
	}

	browser := newClient(t)
	_, login := browser.get(a.URL, "/accounts/login/")
	if code := browser.post(a.URL, "/accounts/?target=/", login,
		map[string]string{"operation": "login", "username": "awdeorio", "password": "chickens"}); code != http.StatusFound {
		t.Fatalf("login = %d", code)
	}
	reader := newClient(t)
	_, login = reader.get(a.URL, "/accounts/login/")
	if code := reader.post(a.URL, "/accounts/?target=/", login,
		map[string]string{"operation": "login", "username": "michjc", "password": "password"}); code != http.StatusFound {
		t.Fatalf("login as michjc = %d", code)
	}
	// An API client that keeps no cookies.
	api := &basicClient{t: t, user: "jflinn", password: "password"}

	rounds, misses := 0, 0
	inst := 0
	other := func() string { inst++; return instances[inst%2].URL }
	check := func(what string, ok bool) {
		t.Helper()
		rounds++
		if !ok {
			misses++
			t.Errorf("round %d: %s: the read missed the user's own write", rounds, what)
		}
	}
	page := func(path string) string {
		t.Helper()
		code, body := browser.get(other(), path)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d", path, code)
		}
		return body
	}
	form := func(path string, fields map[string]string) {
		t.Helper()
		_, p := browser.get(other(), "/posts/4/") // a page with a CSRF token
		if code := browser.post(other(), path, p, fields); code != http.StatusFound {
			t.Fatalf("POST %s %v = %d", path, fields, code)
		}
	}
	for cycle := 0; rounds < 100; cycle++ {
		// Forms, as awdeorio: like and unlike post 4, which awdeorio
		// does not like in the sample data.
		form("/likes/?target=/posts/4/", map[string]string{"operation": "like", "postid": "4"})
		p := page("/posts/4/")
		check("like then post page", strings.Contains(p, `name="operation" value="unlike"`) && strings.Contains(p, "1 like"))
		form("/likes/?target=/posts/4/", map[string]string{"operation": "unlike", "postid": "4"})
		p = page("/posts/4/")
		check("unlike then post page", strings.Contains(p, `name="operation" value="like"`) && strings.Contains(p, "0 likes"))

		text := fmt.Sprintf("form comment %d", cycle)
		form("/comments/?target=/posts/4/", map[string]string{"operation": "create", "postid": "4", "text": text})
		check("comment then post page", strings.Contains(page("/posts/4/"), text))
		var detail postDetail
		browser.getJSON(other(), "/api/v1/posts/4/", &detail)
		id := detail.commentID(text)
		check("comment then API post (session)", id != 0)
		if id != 0 {
			form("/comments/?target=/posts/4/", map[string]string{"operation": "delete", "commentid": fmt.Sprint(id)})
			check("delete comment then post page", !strings.Contains(page("/posts/4/"), text))
		}

		form("/following/?target=/users/jag/", map[string]string{"operation": "follow", "username": "jag"})
		check("follow then user page", strings.Contains(page("/users/jag/"), `name="operation" value="unfollow"`))
		check("follow then feed", strings.Contains(page("/"), `href="/posts/4/"`))
		form("/following/?target=/users/jag/", map[string]string{"operation": "unfollow", "username": "jag"})
		check("unfollow then user page", strings.Contains(page("/users/jag/"), `name="operation" value="follow"`))
		check("unfollow then feed", !strings.Contains(page("/"), `href="/posts/4/"`))

		_, own := browser.get(other(), "/users/awdeorio/")
		code := browser.upload(other(), "/posts/?target=/users/awdeorio/", own, media.Landscape(fmt.Sprint("replica", cycle), 64))
		if code != http.StatusFound {
			t.Fatalf("upload = %d", code)
		}
		var list postList
		browser.getJSON(other(), "/api/v1/posts/?size=1", &list)
		var postid int64
		if len(list.Results) == 1 && list.Results[0].PostID > 4 {
			postid = list.Results[0].PostID
		}
		check("upload then API list", postid != 0)
		if postid != 0 {
			check("upload then user page", strings.Contains(page("/users/awdeorio/"), fmt.Sprintf(`href="/posts/%d/"`, postid)))
			form("/posts/?target=/users/awdeorio/", map[string]string{"operation": "delete", "postid": fmt.Sprint(postid)})
			check("delete post then user page", !strings.Contains(page("/users/awdeorio/"), fmt.Sprintf(`href="/posts/%d/"`, postid)))
		}

		// The API with HTTP Basic and no cookies, as jflinn.
		var like struct{ LikeID int64 }
		api.do(other(), "POST", "/api/v1/likes/?postid=4", "", http.StatusCreated, &like)
		api.do(other(), "GET", "/api/v1/posts/4/", "", http.StatusOK, &detail)
		check("API like then API post", detail.Likes.LognameLikesThis && detail.Likes.NumLikes == 1)
		api.do(other(), "DELETE", fmt.Sprintf("/api/v1/likes/%d/", like.LikeID), "", http.StatusNoContent, nil)
		api.do(other(), "GET", "/api/v1/posts/4/", "", http.StatusOK, &detail)
		check("API unlike then API post", !detail.Likes.LognameLikesThis && detail.Likes.NumLikes == 0)
		text = fmt.Sprintf("api comment %d", cycle)
		var comment struct{ CommentID int64 }
		api.do(other(), "POST", "/api/v1/comments/?postid=4", fmt.Sprintf(`{"text": %q}`, text), http.StatusCreated, &comment)
		api.do(other(), "GET", "/api/v1/posts/4/", "", http.StatusOK, &detail)
		check("API comment then API post", detail.commentID(text) == comment.CommentID)
		api.do(other(), "DELETE", fmt.Sprintf("/api/v1/comments/%d/", comment.CommentID), "", http.StatusNoContent, nil)
		api.do(other(), "GET", "/api/v1/posts/4/", "", http.StatusOK, &detail)
		check("API delete comment then API post", detail.commentID(text) == 0)
	}
	t.Logf("%d rounds, %d reads missed the user's own write; reads on instance A: %+v", rounds, misses, a.Store.ReplicaStats())
	if api.cookies == 0 {
		t.Error("the API set no read-your-writes cookie for clients that keep cookies")
	}

	// michjc wrote nothing since logging in (which upgraded the sample
	// password hash: a write) long ago: their reads go to the replica,
	// which shows awdeorio's comment only once it has replayed it.
	waitUntil(t, "michjc's login to be replayed", func() bool {
		before := a.Store.ReplicaStats()
		reader.get(a.URL, "/explore/")
		return a.Store.ReplicaStats().Primary == before.Primary
	})
	text := "seen by others once replayed"
	form("/comments/?target=/posts/4/", map[string]string{"operation": "create", "postid": "4", "text": text})
	wrote := time.Now()
	before := a.Store.ReplicaStats()
	_, p := reader.get(a.URL, "/posts/4/")
	after := a.Store.ReplicaStats()
	if after.Replicas[0].Reads <= before.Replicas[0].Reads || after.Primary != before.Primary || after.Fallback != before.Fallback {
		t.Errorf("a user who wrote nothing did not read from the replica: %+v -> %+v", before, after)
	}
	if strings.Contains(p, text) && time.Since(wrote) < applyDelay {
		t.Error("the other user saw the comment before the replica's apply delay: not a replica read")
	}
	// The same shows in the metrics: reads by target, the replica's
	// health and its own connection pool.
	sc := testenv.ScrapeMetrics(t, metricsSrv.URL)
	name := after.Replicas[0].Name
	if v, ok := sc.Value("insta485_db_reads_total", map[string]string{"target": "replica"}); !ok || v < float64(after.Replicas[0].Reads) {
		t.Errorf("insta485_db_reads_total{target=replica} = %v (%v), want at least %d", v, ok, after.Replicas[0].Reads)
	}
	if v, ok := sc.Value("insta485_db_replica_healthy", map[string]string{"replica": name}); !ok || v != 1 {
		t.Errorf("insta485_db_replica_healthy{replica=%q} = %v (%v), want 1", name, v, ok)
	}
	if _, ok := sc.Value("insta485_db_replica_lag_seconds", map[string]string{"replica": name}); !ok {
		t.Errorf("no insta485_db_replica_lag_seconds for %q", name)
	}
	if _, ok := sc.Value("go_sql_open_connections", map[string]string{"db_name": "insta485_replica1"}); !ok {
		t.Error("the replica's connection pool has no go_sql_* metrics")
	}
	waitUntil(t, "the other user to see the comment", func() bool {
		_, p := reader.get(a.URL, "/posts/4/")
		return strings.Contains(p, text)
	})

	// A logout holds on every instance at once, though the replica is two
	// seconds behind: session checks read the primary.
	victim := newClient(t)
	if code := victim.formLogin(a.URL, "jag", "password").StatusCode; code != http.StatusFound {
		t.Fatalf("login as jag = %d", code)
	}
	thief := newClient(t)
	for _, base := range []string{a.URL, b.URL} {
		u, _ := http.NewRequest("GET", base, nil)
		thief.http.Jar.SetCookies(u.URL, victim.http.Jar.Cookies(u.URL))
	}
	if code, _ := thief.get(b.URL, "/"); code != http.StatusOK {
		t.Fatalf("the copied cookie before logout = %d, want 200", code)
	}
	_, userPage := victim.get(a.URL, "/users/jag/")
	if code := victim.post(a.URL, "/accounts/logout/", userPage, nil); code != http.StatusFound {
		t.Fatalf("logout = %d", code)
	}
	if code, _ := thief.get(b.URL, "/"); code != http.StatusFound {
		t.Errorf("the copied cookie right after logout on the other instance = %d, want a redirect to login", code)
	}

	// The replica stops during a steady load of reads and comes back.
	var errs, done atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := []string{"/", "/posts/3/", "/users/awdeorio/"}[(i+w)%3]
				resp, err := reader.http.Get(instances[(i+w)%2].URL + path)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET %s = %d", path, resp.StatusCode)
					}
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				done.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer halt()
	waitUntil(t, "some load", func() bool { return done.Load() > 30 })
	if err := pair.Replica.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		waitUntil(t, "the stopped replica to be skipped", func() bool { return !s.ReplicaStats().Replicas[0].Healthy })
	}
	fb := a.Store.ReplicaStats().Fallback
	waitUntil(t, "reads to fall back to the primary", func() bool { return a.Store.ReplicaStats().Fallback > fb+20 })
	if code, body := reader.get(a.URL, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with the replica down = %d %s; readiness is about the primary", code, body)
	}
	if err := pair.Replica.Start(); err != nil {
		t.Fatal(err)
	}
	n := a.Store.ReplicaStats().Replicas[0].Reads
	waitUntil(t, "reads to return to the replica", func() bool { return a.Store.ReplicaStats().Replicas[0].Reads > n+20 })
	halt()
	if n := errs.Load(); n > 0 {
		t.Errorf("%d of %d requests failed while the replica stopped and started; first: %v", n, done.Load(), firstErr.Load())
	}
	t.Logf("%d requests under load; reads on instance A: %+v", done.Load(), a.Store.ReplicaStats())
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type postDetail struct {
	Comments []struct {
		CommentID int64
		Text      string
	}
	Likes struct {
		LognameLikesThis bool
		NumLikes         int
	}
}

func (d postDetail) commentID(text string) int64 {
	for _, c := range d.Comments {
		if c.Text == text {
			return c.CommentID
		}
	}
	return 0
}

type postList struct {
	Results []struct{ PostID int64 }
}

func (c *client) getJSON(base, path string, v any) {
	c.t.Helper()
	code, body := c.get(base, path)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s = %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

// upload posts an image with the upload form's CSRF token from page.
func (c *client) upload(base, path, page string, image []byte) int {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no csrf_token on the page before POST %s", path)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf_token", m[1])
	w.WriteField("operation", "create")
	fw, _ := w.CreateFormFile("file", "landscape.jpg")
	fw.Write(image)
	w.Close()
	resp, err := c.http.Post(base+path, w.FormDataContentType(), &body)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// basicClient calls the API with HTTP Basic and keeps no cookies; it
// counts the read-your-writes cookies it was offered.
type basicClient struct {
	t              *testing.T
	user, password string
	cookies        int
}

func (c *basicClient) do(base, method, path, body string, want int, v any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.SetBasicAuth(c.user, c.password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == auth.WrittenCookieName {
			c.cookies++
		}
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}
