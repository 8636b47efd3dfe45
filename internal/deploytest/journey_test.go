package deploytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/testenv"
)

// TestJourneyAcrossInstances signs up, posts a picture, likes, comments
// and follows through nginx in front of three instances, with every
// request on a different instance from the one before: sessions, CSRF
// tokens and uploads must not depend on which instance made them. Each
// instance's metrics then account for exactly the requests it served, and
// pass promtool's checks.
func TestJourneyAcrossInstances(t *testing.T) {
	for _, store := range testenv.UploadStores {
		t.Run(store, func(t *testing.T) { testJourney(t, store) })
	}
}

func testJourney(t *testing.T, store string) {
	cl := newCluster(t, 3, store)
	promtool := need(t, "promtool", "prometheus")

	before := map[string]testenv.Scrape{}
	for _, in := range cl.instances {
		before[in.Name] = testenv.ScrapeMetrics(t, "http://"+in.MetricsAddr+"/metrics")
	}

	c := newClient(t, cl.URL)
	user := testenv.RandomName("u")
	tok := c.token("/accounts/create/")
	c.post("/accounts/?target=/", map[string]string{
		"operation": "create", "username": user, "fullname": "Dee Ploy", "email": user + "@example.com",
		"password": "correct horse", "csrf_token": tok,
	}, pngImage(t, 1, 0), http.StatusFound)
	tok = c.token("/accounts/edit/")
	picture := pngImage(t, 2, 0)
	c.post("/posts/?target=/", map[string]string{"operation": "create", "csrf_token": tok}, picture, http.StatusFound)
	m := postLink.FindStringSubmatch(c.get("/users/"+user+"/", http.StatusOK).Body)
	if m == nil {
		t.Fatalf("the new post is not on %s's page", user)
	}
	postid := m[1]
	c.post("/likes/?target=/", map[string]string{"operation": "like", "postid": postid, "csrf_token": tok}, nil, http.StatusFound)
	c.post("/comments/?target=/", map[string]string{"operation": "create", "postid": postid, "text": "across instances", "csrf_token": tok}, nil, http.StatusFound)
	c.post("/following/?target=/", map[string]string{"operation": "follow", "username": "awdeorio", "csrf_token": tok}, nil, http.StatusFound)

	var post struct {
		ImgURL   string `json:"imgUrl"`
		Comments []struct {
			Text string `json:"text"`
		} `json:"comments"`
		Likes struct {
			NumLikes         int  `json:"numLikes"`
			LognameLikesThis bool `json:"lognameLikesThis"`
		} `json:"likes"`
	}
	body := c.get("/api/v1/posts/"+postid+"/", http.StatusOK).Body
	if err := json.Unmarshal([]byte(body), &post); err != nil {
		t.Fatalf("post %s: %v\n%s", postid, err, body)
	}
	if post.Likes.NumLikes != 1 || !post.Likes.LognameLikesThis || len(post.Comments) != 1 || post.Comments[0].Text != "across instances" {
		t.Errorf("post %s after like and comment: %s", postid, body)
	}
	if !contains(c.get("/users/"+user+"/following/", http.StatusOK).Body, `href="/users/awdeorio/"`) {
		t.Errorf("%s does not follow awdeorio after following", user)
	}
	// The picture, as uploaded, from every instance in turn.
	for range cl.instances {
		if got := c.get(post.ImgURL, http.StatusOK).Body; got != string(picture) {
			t.Errorf("GET %s: %d bytes, not the %d uploaded", post.ImgURL, len(got), len(picture))
		}
	}
	c.post("/accounts/logout/", map[string]string{"csrf_token": tok}, nil, http.StatusFound)
	c.get("/accounts/edit/", http.StatusFound)

	// Which instance served each request: the id in the response is the
	// one nginx made and the instance logged.
	var served []string
	waitFor(t, "every request in an instance's log", func() bool {
		served = served[:0]
		for _, id := range c.ids {
			in := cl.instanceOf(t, id)
			if in == nil {
				return false
			}
			served = append(served, in.Name)
		}
		return true
	})
	t.Logf("instances in order: %v", served)
	used := map[string]int{}
	for i, name := range served {
		used[name]++
		if i > 0 && name == served[i-1] {
			t.Errorf("requests %d and %d both went to %s: want consecutive requests on different instances (%v)", i, i+1, name, served)
		}
	}
	if len(used) != len(cl.instances) {
		t.Errorf("the journey used instances %v, want all %d", used, len(cl.instances))
	}

	// Metrics: each instance counted exactly the requests it served, and
	// its exposition passes promtool's checks.
	var likes, puts float64
	for _, in := range cl.instances {
		url := "http://" + in.MetricsAddr + "/metrics"
		var after testenv.Scrape
		waitFor(t, in.Name+"'s request counter to catch up", func() bool {
			after = testenv.ScrapeMetrics(t, url)
			a, _ := after.Value("insta485_http_requests_total", nil)
			b, _ := before[in.Name].Value("insta485_http_requests_total", nil)
			return a-b == float64(used[in.Name])
		})
		l, _ := after.Value("insta485_http_requests_total", map[string]string{"method": "POST", "route": "/likes/{$}", "status": "3xx"})
		likes += l
		p, _ := after.Value("insta485_upload_store_operations_total", map[string]string{"operation": "put"})
		puts += p
		check := exec.Command(promtool, "check", "metrics")
		check.Stdin = bytes.NewReader(after.Text)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on %s: %v\n%s", in.Name, err, out)
		}
		if _, ok := after.Value("go_sql_open_connections", map[string]string{"db_name": "insta485_primary"}); !ok {
			t.Errorf("%s reports no database pool", in.Name)
		}
	}
	if likes != 1 {
		t.Errorf("the instances counted %v like forms, want 1", likes)
	}
	// The profile picture and the post's picture, each with its width
	// variants.
	if want := float64(2 * (1 + len(media.VariantWidths))); puts != want {
		t.Errorf("the instances counted %v upload store puts, want %v", puts, want)
	}
}

// TestUploadLimitThroughNginx checks that nginx's body limit matches the
// app's: the largest upload the app accepts passes nginx, a larger one is
// refused with 413.
func TestUploadLimitThroughNginx(t *testing.T) {
	cl := newCluster(t, 1, "s3")
	c := newClient(t, cl.URL)
	c.login("awdeorio", "chickens")
	tok := c.token("/accounts/edit/")
	const maxUpload = 16 << 20 // the default --max-upload-bytes
	c.post("/posts/?target=/", map[string]string{"operation": "create", "csrf_token": tok}, pngImage(t, 3, maxUpload), http.StatusFound)
	c.post("/posts/?target=/", map[string]string{"operation": "create", "csrf_token": tok}, pngImage(t, 4, maxUpload+80<<10), http.StatusRequestEntityTooLarge)
}

// waitFor polls cond for up to 10 s: logs and counters are written as a
// response ends, a moment after the client may have read it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
