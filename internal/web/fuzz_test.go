package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadForm: any body under any content type is either read or refused
// with a 4xx page; never a panic or a 5xx. The seeds run as an ordinary
// test.
func FuzzReadForm(f *testing.F) {
	seeds := []struct{ ctype, body string }{
		{"application/x-www-form-urlencoded", "operation=login&username=awdeorio&password=chickens"},
		{"application/x-www-form-urlencoded", "a=%zz&b=%"},
		{"application/x-www-form-urlencoded", "username=%00%ff%fe&text=\u202egnp.exe"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--X--\r\n"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\n\r\nabc"},
		{"multipart/form-data", "--X\r\n"},
		{"multipart/form-data; boundary=", ""},
		{"application/json", `{"operation": "login"}`},
		{"text/plain", "\x00\x01\x02"},
		{"", "operation=like&postid=1"},
		{"multipart/form-data; boundary=\"", "x"},
	}
	for _, s := range seeds {
		f.Add(s.ctype, []byte(s.body))
	}
	h := &Handler{MaxUpload: 1 << 10, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/accounts/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		ok := h.readForm(w, r, viewer{})
		if ok {
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("readForm accepted the form but answered %d", w.Code)
			}
			// What was read goes through the field checks without panicking.
			for k := range r.PostForm {
				checkFields(t, field(r, k))
			}
			return
		}
		if w.Code < 400 || w.Code > 499 {
			t.Fatalf("readForm(%q, %q) answered %d, want a 4xx", ctype, body, w.Code)
		}
	})
}

// FuzzFieldChecks: the field checks accept only what every backend can
// store within the column limits, and idField only positive ids.
func FuzzFieldChecks(f *testing.F) {
	for _, s := range []string{"awdeorio", "AWDEORIO", "", " ", "a\x00b", "\xff", "' OR '1'='1", "../../x",
		strings.Repeat("a", 21), "émoji😀", "\u202eevil", "1", "-1", "0", "9223372036854775808", "1e3", "0x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFields(t, s)
	})
}

func checkFields(t *testing.T, s string) {
	t.Helper()
	if checkUsername(s) == nil {
		if !usernameChars.MatchString(s) || utf8.RuneCountInString(s) > maxUsername || !possibleUsername(s) {
			t.Fatalf("checkUsername accepted %q", s)
		}
	}
	if checkText("comment", s, maxComment) == nil {
		if s == "" || !storable(s) || utf8.RuneCountInString(s) > maxComment {
			t.Fatalf("checkText accepted %q", s)
		}
	}
	r := &http.Request{PostForm: url.Values{"postid": {s}}, Form: url.Values{"postid": {s}}}
	if id, err := idField(r, "postid"); err == nil && id <= 0 {
		t.Fatalf("idField(%q) = %d", s, id)
	} else if err != nil {
		if _, ok := err.(*formError); !ok {
			t.Fatalf("idField(%q) error %v is not a formError", s, err)
		}
	}
}
