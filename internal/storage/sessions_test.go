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

// TestLoginFailureRows: a swap of the failure record succeeds only from
// the record as it is, refunds count down, a touch moves the last failure
// forward, old records are forgotten, and Clear clears.
func TestLoginFailureRows(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s := testenv.NewStore(t, backend)
		ctx := context.Background()
		now := time.Unix(time.Now().Unix(), 0)
		swap := func(old, next storage.LoginFailures) bool {
			t.Helper()
			ok, err := s.SwapLoginFailures(ctx, "awdeorio", old, next)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		one := storage.LoginFailures{Count: 1, Last: now}
		two := storage.LoginFailures{Count: 2, Last: now.Add(time.Second)}
		if !swap(storage.LoginFailures{}, one) || swap(storage.LoginFailures{}, one) {
			t.Fatal("the first swap from no record must succeed, the second fail")
		}
		if !swap(one, two) || swap(one, two) {
			t.Fatal("a swap from the record as read must succeed, then a stale one fail")
		}
		if err := s.RefundLoginFailure(ctx, "awdeorio"); err != nil {
			t.Fatal(err)
		}
		if f, err := s.LoginFailures(ctx, "awdeorio"); err != nil || f.Count != 1 || !f.Last.Equal(two.Last) {
			t.Errorf("after a refund = %+v, %v; want 1 at the last failure", f, err)
		}
		later := now.Add(5 * time.Second)
		if err := s.TouchLoginFailure(ctx, "awdeorio", later); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchLoginFailure(ctx, "awdeorio", now); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.LoginFailures(ctx, "awdeorio"); f.Count != 1 || !f.Last.Equal(later) {
			t.Errorf("after touching = %+v; want 1 at the later time, never moved back", f)
		}
		if err := s.ForgetLoginFailures(ctx, now); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.LoginFailures(ctx, "awdeorio"); f.Count != 1 {
			t.Errorf("a recent record was forgotten: %+v", f)
		}
		if err := s.ForgetLoginFailures(ctx, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.LoginFailures(ctx, "awdeorio"); f.Count != 0 {
			t.Errorf("an old record was kept: %+v", f)
		}
		if !swap(storage.LoginFailures{}, one) {
			t.Fatal("swap after forgetting")
		}
		if err := s.ClearLoginFailures(ctx, "awdeorio"); err != nil {
			t.Fatal(err)
		}
		if f, err := s.LoginFailures(ctx, "awdeorio"); err != nil || f.Count != 0 {
			t.Errorf("after Clear = %+v, %v", f, err)
		}
	})
}
