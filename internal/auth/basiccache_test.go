package auth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// Two app instances share one database. Instance a caches jag's Basic
// credentials; a password change or an account deletion made through
// instance b must hold on a at once.
func TestBasicCacheNeverOutlivesTheStoredHash(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		store := testenv.NewStore(t, backend)
		key := []byte("0123456789abcdef0123456789abcdef")
		a := &auth.Authenticator{Sessions: auth.NewSessions(key), Store: store}
		b := &auth.Authenticator{Sessions: auth.NewSessions(key), Store: store}
		ctx := context.Background()
		basic := func(x *auth.Authenticator, user, pw string) error {
			r := httptest.NewRequest("GET", "/api/v1/posts/", nil)
			r.SetBasicAuth(user, pw)
			u, err := x.Basic(r)
			if err == nil && u.Username != user {
				t.Fatalf("Basic(%s) returned user %s", user, u.Username)
			}
			return err
		}

		// The first request checks the (legacy) hash and upgrades it; the
		// next ones are answered from the cache.
		for i := range 3 {
			if err := basic(a, "jag", "password"); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if n := auth.BasicChecks(a); n != 1 {
			t.Errorf("3 requests with the right password ran %d password checks, want 1", n)
		}
		if err := basic(a, "jag", "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("wrong password with a cached right one = %v", err)
		}
		if err := basic(a, "michjc", "password"); err != nil {
			t.Fatal(err)
		}

		// Instance b changes the password: a refuses the old one at once.
		if err := store.SetPassword(ctx, "jag", auth.HashPassword("new secret")); err != nil {
			t.Fatal(err)
		}
		if err := basic(a, "jag", "password"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("old password after a change on another instance = %v, want ErrBadCredentials", err)
		}
		if err := basic(b, "jag", "new secret"); err != nil {
			t.Errorf("new password on b = %v", err)
		}
		if err := basic(a, "jag", "new secret"); err != nil {
			t.Errorf("new password on a = %v", err)
		}

		// Deleting the account ends cached credentials too.
		if _, err := store.DeleteUser(ctx, "michjc"); err != nil {
			t.Fatal(err)
		}
		if err := basic(a, "michjc", "password"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("deleted account's cached credentials = %v, want ErrBadCredentials", err)
		}
		// A user created again under the deleted name with the same
		// password gets a new hash (a new salt): not the cached entry.
		if err := store.CreateUser(ctx, storage.User{Username: "michjc", Fullname: "x", Email: "x", Filename: "x.jpg", Password: auth.HashPassword("password")}); err != nil {
			t.Fatal(err)
		}
		before := auth.BasicChecks(a)
		if err := basic(a, "michjc", "password"); err != nil {
			t.Fatal(err)
		}
		if auth.BasicChecks(a) != before+1 {
			t.Error("a recreated account was answered from the old account's cache entry")
		}
	})
}
