package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// TestSessionRows: a session reads back with its user until it expires,
// is ended, or its user changes password or is deleted.
func TestSessionRows(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		later := time.Now().Add(time.Hour)
		for _, id := range []string{"a1", "a2", "b1", "c1"} {
			user := map[byte]string{'a': "awdeorio", 'b': "jflinn", 'c': "michjc"}[id[0]]
			if err := s.CreateSession(ctx, id, user, later); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateSession(ctx, "old", "jag", time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, "x", "nobody", later); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a session for no user = %v, want ErrNotFound", err)
		}
		live := func(id, want string) {
			t.Helper()
			u, err := s.SessionUser(ctx, id)
			switch {
			case want == "" && !errors.Is(err, storage.ErrNotFound):
				t.Errorf("session %s = %q, %v; want ErrNotFound", id, u.Username, err)
			case want != "" && (err != nil || u.Username != want || u.Password == ""):
				t.Errorf("session %s = %+v, %v; want %s", id, u, err, want)
			}
		}
		live("a1", "awdeorio")
		live("old", "")
		live("' OR '1'='1", "")
		if err := s.EndSession(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		live("a1", "")
		live("a2", "awdeorio")
		if err := s.SetPassword(ctx, "awdeorio", "new-hash"); err != nil {
			t.Fatal(err)
		}
		live("a2", "")
		live("b1", "jflinn")
		if _, err := s.DeleteUser(ctx, "jflinn"); err != nil {
			t.Fatal(err)
		}
		live("b1", "")
		live("c1", "michjc")
	})
}

// TestLoginFailureRows: failures count up, start over after the forget
// window, and clear.
func TestLoginFailureRows(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		now := time.Now()
		for i := 1; i <= 3; i++ {
			f, err := s.AddLoginFailure(ctx, "awdeorio", now.Add(time.Duration(i)*time.Second), time.Minute)
			if err != nil || f.Count != i {
				t.Fatalf("failure %d = %+v, %v", i, f, err)
			}
		}
		if f, err := s.LoginFailures(ctx, "awdeorio"); err != nil || f.Count != 3 || f.Last.Unix() != now.Add(3*time.Second).Unix() {
			t.Errorf("LoginFailures = %+v, %v; want 3 at the last one", f, err)
		}
		if f, err := s.AddLoginFailure(ctx, "awdeorio", now.Add(5*time.Minute), time.Minute); err != nil || f.Count != 1 {
			t.Errorf("a failure after the forget window = %+v, %v; want a count of 1", f, err)
		}
		if err := s.ClearLoginFailures(ctx, "awdeorio"); err != nil {
			t.Fatal(err)
		}
		if f, err := s.LoginFailures(ctx, "awdeorio"); err != nil || f.Count != 0 {
			t.Errorf("after Clear = %+v, %v", f, err)
		}
	})
}
