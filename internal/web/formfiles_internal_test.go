package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

type ctxKey struct{}

// TestFormFilesRemovedWhenTheHandlerPanics reads a spooled form on a copy
// of the request, as the app's middleware makes, in a handler that then
// panics: its multipart-* file must still go.
func TestFormFilesRemovedWhenTheHandlerPanics(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	h := &Handler{}
	parsed := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, 1))
		h.withForm(w, r, viewer{}, func() {
			entries, _ := os.ReadDir(tmp)
			parsed <- r.MultipartForm != nil && len(entries) > 0
			panic("handler bug")
		})
	}))
	defer srv.Close()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	_, _ = fw.Write(bytes.Repeat([]byte{'x'}, multipartMemory+1<<20))
	_ = mw.Close()
	res, err := http.Post(srv.URL, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500 from the recovered panic", res.StatusCode)
	}
	if !<-parsed {
		t.Fatal("the form was not spooled to a file: the test tests nothing")
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in TMPDIR: %s", e.Name())
	}
}
