package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// failWrites makes the database refuse every `op` (INSERT or UPDATE) on
// table, as a full disk or a lost connection would, behind the app's back.
func failWrites(t *testing.T, app *testenv.App, backend, op, table string) {
	t.Helper()
	name := "fail_" + strings.ToLower(op) + "_" + table
	switch backend {
	case "sqlite":
		testenv.ExecSQL(t, app, fmt.Sprintf(
			"CREATE TRIGGER %s BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, 'injected failure'); END", name, op, table))
	case "postgres":
		testenv.ExecSQL(t, app, `CREATE OR REPLACE FUNCTION insta485_test_fail() RETURNS trigger LANGUAGE plpgsql
			AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`, fmt.Sprintf(
			"CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW EXECUTE FUNCTION insta485_test_fail()", name, op, table))
	}
}

// TestDatabaseFailures checks that when the database fails after a picture
// was stored, the picture is removed again, and that the user sees a
// friendly page with a reference for the operator, never the error.
func TestDatabaseFailures(t *testing.T) {
	t.Parallel()
	img := pngImage(t)
	tests := []struct {
		name      string
		op, table string
		user      string
		path      string
		fields    map[string]string
	}{
		{"upload post", "INSERT", "posts", "awdeorio", "/posts/", map[string]string{"operation": "create"}},
		{"new profile photo", "UPDATE", "users", "awdeorio", "/accounts/",
			map[string]string{"operation": "edit_account", "fullname": "A", "email": "a@b.c"}},
		{"sign up", "INSERT", "users", "", "/accounts/", signUpFields("newbie")},
	}
	testenv.ForEachBackendAndStore(t, func(t *testing.T, backend, store string) {
		t.Parallel()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				app := testenv.NewApp(t, backend, testenv.WithUploadStore(store))
				c := newClient(t, app)
				fields := map[string]string{}
				if tt.user != "" {
					c.login(tt.user, passwords[tt.user])
					fields["csrf_token"] = c.token()
				} else {
					fields["csrf_token"] = csrfToken(t, c.get("/accounts/create/").Body)
				}
				for k, v := range tt.fields {
					fields[k] = v
				}
				failWrites(t, app, backend, tt.op, tt.table)
				before := snapshot(t, app)
				res := c.post(tt.path, fields, &upload{"p.png", img})
				if res.Status != http.StatusInternalServerError {
					t.Fatalf("status %d, want 500\n%s", res.Status, res.Body)
				}
				if after := snapshot(t, app); after != before {
					t.Errorf("data or files changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				id := res.Header.Get("X-Request-Id")
				if id == "" || !strings.Contains(res.Body, id) || !strings.Contains(res.Body, "Something went wrong") {
					t.Errorf("want a friendly page naming request id %q:\n%s", id, res.Body)
				}
				if strings.Contains(res.Body, "injected") || strings.Contains(res.Body, ".go") {
					t.Errorf("the page shows the error:\n%s", res.Body)
				}
			})
		}
	})
}
