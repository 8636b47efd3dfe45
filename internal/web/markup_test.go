package web

import (
	"bytes"
	"html/template"
	"math/rand/v2"
	"strings"
	"testing"
)

// hostile are values a field might hold that test each context's escaping:
// markup, quotes, entities, URL schemes html/template refuses, characters
// a URL may not hold, escapes valid and not, control and non-ASCII bytes,
// invalid UTF-8, and srcset lists good and bad.
var hostile = []string{
	"", "awdeorio", "42", `"'><script>alert(1)</script>`, "javascript:alert(1)", "JavaScript:x",
	"data:text/html,<b>", "http://example.com/a?b=1&c=2#d", "https://x", "mailto:a@b", "//evil.example/",
	"/likes/?target=/posts/1/", "a b\tc\nd", "%41%zz%4", "100%", "a+b&c=d;e", "é€😀", "\x00\x01\x7f\xff\xfe",
	"<!-- -->", "{{.}}", "\\", "`^{|}", "!#$*,/:;=?@[]-._~'()",
	"/uploads/a.jpg 320w, /uploads/b.jpg 640w", "javascript:x 1x, /ok.jpg 2x", "/a.jpg 1x;b", " /a.jpg,/b.jpg  ,",
	"/a b.jpg 1x", "/a.jpg\f1x,\r/b.jpg", "ph pr7 pg6 pb6",
}

func oracle(t testing.TB) *template.Template {
	t.Helper()
	return template.Must(template.ParseFiles("testdata/posts.html"))
}

func checkSame(t *testing.T, tmpl *template.Template, name string, data any, got string) {
	t.Helper()
	var want bytes.Buffer
	if err := tmpl.ExecuteTemplate(&want, name, data); err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Fatalf("%s of %#v:\nmarkup.go:     %q\nhtml/template: %q", name, data, got, want.String())
	}
}

// TestMarkupMatchesHTMLTemplate renders posts and grid pictures through
// markup.go and through the html/template definitions it replaces: every
// field holding each hostile value, then random views, all byte for byte
// the same, so the escaping of each place is html/template's.
func TestMarkupMatchesHTMLTemplate(t *testing.T) {
	tmpl := oracle(t)
	post := func(s string, flags int) postView {
		p := postView{ID: s, Owner: s, OwnerFilename: s, OwnerSrcset: s, Filename: s, Srcset: s, Created: s, Ago: s,
			Liked: flags&1 != 0, Likes: s, LikeAction: s, CommentAction: s, CSRF: s,
			Width: s, Height: s, Placeholder: s, Lazy: flags&2 != 0}
		if flags&4 != 0 {
			p.DeleteAction = s
		}
		p.Comments = []commentView{{ID: s, Owner: s, Text: s, Deletable: flags&8 != 0}, {ID: "1", Owner: "a", Text: s}}
		return p
	}
	for _, s := range hostile {
		for flags := range 16 {
			p := post(s, flags)
			var b bytes.Buffer
			writePost(&b, &p)
			checkSame(t, tmpl, "post", p, b.String())
		}
		th := thumbView{ID: s, Filename: s, Srcset: s, Width: s, Height: s, Placeholder: s, Lazy: len(s)%2 == 0}
		var b bytes.Buffer
		writeThumb(&b, &th)
		checkSame(t, tmpl, "thumb", th, b.String())
	}

	// Random views: each field a random pick of hostile values, bytes
	// and their pieces.
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(4) {
			switch rng.IntN(3) {
			case 0:
				sb.WriteString(hostile[rng.IntN(len(hostile))])
			case 1:
				sb.WriteByte(byte(rng.IntN(256)))
			default:
				h := hostile[rng.IntN(len(hostile))]
				sb.WriteString(h[:rng.IntN(len(h)+1)])
			}
		}
		return sb.String()
	}
	for range 3000 {
		p := postView{ID: str(), Owner: str(), OwnerFilename: str(), OwnerSrcset: str(), Filename: str(), Srcset: str(),
			Created: str(), Ago: str(), Liked: rng.IntN(2) == 0, Likes: str(), LikeAction: str(), CommentAction: str(),
			DeleteAction: str(), CSRF: str(), Width: str(), Height: str(), Placeholder: str(), Lazy: rng.IntN(2) == 0}
		for range rng.IntN(3) {
			p.Comments = append(p.Comments, commentView{ID: str(), Owner: str(), Text: str(), Deletable: rng.IntN(2) == 0})
		}
		var b bytes.Buffer
		writePost(&b, &p)
		checkSame(t, tmpl, "post", p, b.String())
		th := thumbView{ID: str(), Filename: str(), Srcset: str(), Width: str(), Height: str(), Placeholder: str(), Lazy: rng.IntN(2) == 0}
		b.Reset()
		writeThumb(&b, &th)
		checkSame(t, tmpl, "thumb", th, b.String())
	}
}

// FuzzMarkup is TestMarkupMatchesHTMLTemplate's comparison with the
// fuzzer's text in every field:
//
//	go test -run '^$' -fuzz FuzzMarkup ./internal/web/
func FuzzMarkup(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, true)
	}
	tmpl := oracle(f)
	f.Fuzz(func(t *testing.T, a, b string, flag bool) {
		p := postView{ID: a, Owner: b, OwnerFilename: a, OwnerSrcset: b, Filename: b, Srcset: a, Created: a, Ago: b,
			Liked: flag, Likes: a, LikeAction: b, CommentAction: a, DeleteAction: b, CSRF: a, Width: b, Height: a,
			Placeholder: b, Lazy: !flag, Comments: []commentView{{ID: a, Owner: a, Text: b, Deletable: flag}}}
		var buf bytes.Buffer
		writePost(&buf, &p)
		checkSame(t, tmpl, "post", p, buf.String())
		th := thumbView{ID: b, Filename: a, Srcset: b, Width: a, Height: b, Placeholder: a, Lazy: flag}
		buf.Reset()
		writeThumb(&buf, &th)
		checkSame(t, tmpl, "thumb", th, buf.String())
	})
}

// TestPostsMarkupSplitsPerPost checks that postsMarkup and thumbsMarkup
// give each post its own markup.
func TestPostsMarkupSplitsPerPost(t *testing.T) {
	posts := []postView{{ID: "1", Owner: "a"}, {ID: "2", Owner: "b"}, {ID: "3", Owner: "c"}}
	for i, m := range postsMarkup(posts) {
		if !strings.HasPrefix(string(m), `<article class="post" data-postid="`+posts[i].ID+`">`) || !strings.HasSuffix(string(m), "</article>") {
			t.Errorf("post %d: %q", i, m)
		}
	}
	thumbs := []thumbView{{ID: "1"}, {ID: "2"}}
	for i, m := range thumbsMarkup(thumbs) {
		if !strings.HasPrefix(string(m), `<li><a href="/posts/`+thumbs[i].ID+`/">`) || !strings.HasSuffix(string(m), "</li>") {
			t.Errorf("thumb %d: %q", i, m)
		}
	}
}
