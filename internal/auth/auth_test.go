package auth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/dbadmin"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

func TestCheckPassword(t *testing.T) {
	fresh := auth.HashPassword("s3cret ünïcode")
	cases := []struct {
		name, stored, password string
		ok, rehash             bool
	}{
		{"legacy sample awdeorio", dbadmin.SampleUsers[0].Password, "chickens", true, true},
		{"legacy sample jag", dbadmin.SampleUsers[3].Password, "password", true, true},
		{"legacy wrong password", dbadmin.SampleUsers[0].Password, "chicken", false, true},
		{"argon2id", fresh, "s3cret ünïcode", true, false},
		{"argon2id wrong password", fresh, "s3cret unicode", false, false},
		{"weaker argon2id is upgraded", weakHash(t), "pw", true, true},
		{"empty stored", "", "", false, false},
		{"plain text is never accepted", "chickens", "chickens", false, false},
		{"legacy malformed", "sha512$abc", "x", false, true},
		{"legacy bad hex", "sha512$abc$zz", "x", false, true},
		{"argon2id malformed", "$argon2id$v=19$m=1", "x", false, false},
		{"argon2id absurd memory", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "x", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, rehash := auth.CheckPassword(c.stored, c.password)
			if ok != c.ok || (ok && rehash != c.rehash) {
				t.Errorf("CheckPassword = %v, %v; want %v, %v", ok, rehash, c.ok, c.rehash)
			}
		})
	}
	if !strings.HasPrefix(fresh, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash format %q", fresh)
	}
	if fresh == auth.HashPassword("s3cret ünïcode") {
		t.Error("two hashes of one password are equal: no salt")
	}
}

// weakHash is an argon2id hash made with less memory than the current
// parameters, as an older insta485 might have stored.
func weakHash(t *testing.T) string {
	t.Helper()
	// m=8 KiB, t=1, p=1 of "pw" with salt "saltsaltsaltsalt".
	return "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + auth.ArgonB64("pw", "saltsaltsaltsalt", 1, 8, 1)
}

func TestSessions(t *testing.T) {
	s := auth.NewSessions([]byte("0123456789abcdef0123456789abcdef"))
	sess := auth.Session{Username: "awdeorio", ID: auth.NewSessionID(), Expires: s.Expiry()}
	v := s.Issue(sess)
	got, err := s.Parse(v)
	if err != nil || got.Username != "awdeorio" || got.ID != sess.ID || len(got.Extra) != 0 {
		t.Fatalf("Parse(Issue) = %+v, %v", got, err)
	}
	// Fields after the id are kept for extensions (a WAL position, say).
	ext := sess
	ext.Extra = []string{"lsn=0-16B3748", "x"}
	if got, err := s.Parse(s.Issue(ext)); err != nil || len(got.Extra) != 2 || got.Extra[0] != "lsn=0-16B3748" {
		t.Errorf("Parse of a cookie with extra fields = %+v, %v", got, err)
	}
	other := auth.NewSessions([]byte("another key another key another!!"))
	bad := []string{"", "x", v + "x", strings.Replace(v, "YXdk", "YXde", 1), "a.b.c.d", other.Issue(sess),
		strings.Repeat("a.", 3000) + "b"}
	for _, b := range bad {
		if _, err := s.Parse(b); !errors.Is(err, auth.ErrBadSession) {
			t.Errorf("Parse(%.40q) = %v, want ErrBadSession", b, err)
		}
	}
	expired := auth.NewSessionsAt([]byte("0123456789abcdef0123456789abcdef"), func() time.Time { return time.Now().Add(-auth.SessionTTL - time.Hour) })
	if _, err := s.Parse(expired.Issue(auth.Session{Username: "awdeorio", ID: "x", Expires: expired.Expiry()})); !errors.Is(err, auth.ErrBadSession) {
		t.Errorf("expired session accepted: %v", err)
	}
	tok := s.CSRFToken(v)
	if !s.CheckCSRF(v, tok) || s.CheckCSRF(v, tok+"x") || s.CheckCSRF("other", tok) || s.CheckCSRF(v, "") || s.CheckCSRF("", s.CSRFToken("")) {
		t.Error("CSRF tokens are not bound to their session")
	}

	r := httptest.NewRequest("GET", "/", nil)
	if c := s.Cookie(r, v); c.Name != "login" || !c.HttpOnly || c.Secure || c.SameSite != 2 {
		t.Errorf("cookie over HTTP = %+v", c)
	}
	r.Header.Set("X-Forwarded-Proto", "https")
	if c := s.Cookie(r, v); !c.Secure {
		t.Error("cookie behind an HTTPS proxy is not Secure")
	}
}

func TestLoginUpgradesLegacyHashes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		store := testenv.NewStore(t, backend)
		a := &auth.Authenticator{Sessions: auth.NewSessions([]byte("0123456789abcdef0123456789abcdef")), Store: store, ArgonWait: testenv.TestArgonWait}
		ctx := context.Background()
		for _, bad := range [][2]string{{"awdeorio", "wrong"}, {"nobody", "chickens"}, {"' OR '1'='1", "' OR '1'='1"}, {"", ""},
			// Names PostgreSQL cannot compare: unknown users all the same.
			{"awdeorio\x00", "chickens"}, {"a\xffb", "chickens"}} {
			if _, err := a.Login(ctx, "192.0.2.1", bad[0], bad[1]); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("Login(%q) = %v, want ErrBadCredentials", bad[0], err)
			}
		}
		u, err := a.Login(ctx, "192.0.2.1", "awdeorio", "chickens")
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := store.User(ctx, "awdeorio")
		if !strings.HasPrefix(stored.Password, "$argon2id$") || stored.Password != u.Password {
			t.Errorf("legacy hash not upgraded: %q", stored.Password)
		}
		if _, err := a.Login(ctx, "192.0.2.1", "awdeorio", "chickens"); err != nil {
			t.Errorf("login after upgrade = %v", err)
		}
		if _, err := a.Login(ctx, "192.0.2.1", "awdeorio", "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("wrong password after upgrade = %v", err)
		}

		// The cookie works until the password changes.
		value, err := a.StartSession(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(a.Sessions.Cookie(r, value))
		if got, _, ok := a.FromCookie(r); !ok || got.Username != "awdeorio" {
			t.Fatalf("FromCookie = %v, %v", got.Username, ok)
		}
		if err := store.SetPassword(ctx, "awdeorio", auth.HashPassword("new")); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := a.FromCookie(r); ok {
			t.Error("session survived a password change")
		}
		b := httptest.NewRequest("GET", "/", nil)
		b.SetBasicAuth("awdeorio", "new")
		if got, err := a.Basic(b); err != nil || got.Username != "awdeorio" {
			t.Error("basic auth with the new password failed")
		}
		b.SetBasicAuth("awdeorio", "chickens")
		if _, err := a.Basic(b); !errors.Is(err, auth.ErrBadCredentials) {
			t.Error("basic auth with the old password succeeded")
		}
	})
}

// TestConcurrentFirstLoginsShareOneUpgradedHash: every login that races to
// upgrade the same legacy hash must come back bound to the stored hash, or
// its session would be dead on arrival.
func TestConcurrentFirstLoginsShareOneUpgradedHash(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		store := testenv.NewStore(t, backend)
		a := &auth.Authenticator{Sessions: auth.NewSessions([]byte("0123456789abcdef0123456789abcdef")), Store: store, ArgonWait: testenv.TestArgonWait}
		ctx := context.Background()
		results := make(chan storage.User, 6)
		for range 6 {
			go func() {
				u, err := a.Login(ctx, "192.0.2.1", "jflinn", "password")
				if err != nil {
					t.Errorf("Login: %v", err)
				}
				results <- u
			}()
		}
		stored := ""
		for range 6 {
			u := <-results
			if stored == "" {
				s, _ := store.User(ctx, "jflinn")
				stored = s.Password
			}
			if u.Password != stored {
				t.Errorf("a login is bound to %q, but %q is stored", u.Password, stored)
			}
		}
	})
}

// TestWrittenMark: the read-your-writes cookie round-trips its WAL
// position, and a forged, altered, foreign or expired one is refused.
func TestWrittenMark(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := auth.NewSessionsAt([]byte("a secret key of at least 32 characters"), func() time.Time { return now })
	lsn, _ := storage.ParseLSN("16/B374D848")
	v := s.IssueWritten(lsn)
	if got, err := s.ParseWritten(v); err != nil || got != lsn {
		t.Fatalf("ParseWritten(IssueWritten(%v)) = %v, %v", lsn, got, err)
	}
	other := auth.NewSessionsAt([]byte("another secret key, also 32+ characters"), func() time.Time { return now })
	later := auth.NewSessionsAt([]byte("a secret key of at least 32 characters"), func() time.Time { return now.Add(auth.WrittenTTL + time.Second) })
	parts := strings.Split(v, ".")
	for name, bad := range map[string]string{
		"other key": other.IssueWritten(lsn),
		"altered":   "ffffffffff." + parts[1] + "." + parts[2],
		"malformed": "nonsense",
		"empty":     "",
	} {
		if _, err := s.ParseWritten(bad); err == nil {
			t.Errorf("%s mark %q accepted", name, bad)
		}
	}
	if _, err := later.ParseWritten(v); err == nil {
		t.Error("an expired mark was accepted")
	}
	c := s.WrittenCookie(httptest.NewRequest("GET", "https://example.com/", nil), v)
	if c.Name != auth.WrittenCookieName || !c.HttpOnly || !c.Secure || c.MaxAge != int(auth.WrittenTTL.Seconds()) {
		t.Errorf("cookie = %+v", c)
	}
}

// TestLoginWhenPasswordChecksAreSaturated: while every argon2id slot is
// taken, a login waits ArgonWait and then gives up with ErrBusy (503) rather
// than starting another 19 MiB computation; once a slot frees, it works.
func TestLoginWhenPasswordChecksAreSaturated(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		store := testenv.NewStore(t, backend)
		a := &auth.Authenticator{Sessions: auth.NewSessions([]byte("0123456789abcdef0123456789abcdef")), Store: store,
			ArgonWait: 50 * time.Millisecond}
		ctx := context.Background()
		release := auth.HoldArgonSlotsForTest()
		_, err := a.Login(ctx, "192.0.2.1", "awdeorio", "chickens")
		release()
		if !errors.Is(err, auth.ErrBusy) {
			t.Fatalf("Login with every slot taken = %v, want ErrBusy", err)
		}
		if _, err := a.Login(ctx, "192.0.2.1", "awdeorio", "chickens"); err != nil {
			t.Fatalf("Login once a slot is free = %v", err)
		}
	})
}
