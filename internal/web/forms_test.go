package web_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/insta485/insta485/internal/testenv"
)

// TestFormMarkup checks every row of SPEC §3's table of forms, which
// existing clients parse: action, method, encoding, hidden fields, inputs
// and the submit button's name and value, plus a CSRF token in each.
func TestFormMarkup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		user   string // "" for a visitor
		page   string
		action string
		hidden map[string]string // besides csrf_token
		inputs []string          // the fields a person fills in, in order
		submit [2]string         // name, value
	}{
		{"like", "jflinn", "/", "/likes/?target=/", map[string]string{"operation": "like", "postid": "2"}, nil, [2]string{"like", "like"}},
		{"unlike", "awdeorio", "/", "/likes/?target=/", map[string]string{"operation": "unlike", "postid": "1"}, nil, [2]string{"unlike", "unlike"}},
		{"comment", "awdeorio", "/", "/comments/?target=/", map[string]string{"operation": "create", "postid": "1"}, []string{"text:text"}, [2]string{"comment", "comment"}},
		{"delete comment", "awdeorio", "/posts/3/", "/comments/?target=/posts/3/", map[string]string{"operation": "delete", "commentid": "1"}, nil, [2]string{"uncomment", "delete"}},
		{"upload post", "awdeorio", "/users/awdeorio/", "/posts/?target=/users/awdeorio/", map[string]string{"operation": "create"}, []string{"file:file"}, [2]string{"create_post", "upload new post"}},
		{"delete post", "awdeorio", "/posts/3/", "/posts/?target=/users/awdeorio/", map[string]string{"operation": "delete", "postid": "3"}, nil, [2]string{"delete", "delete this post"}},
		{"follow", "awdeorio", "/users/jag/", "/following/?target=/users/jag/", map[string]string{"operation": "follow", "username": "jag"}, nil, [2]string{"follow", "follow"}},
		{"unfollow", "awdeorio", "/users/jflinn/", "/following/?target=/users/jflinn/", map[string]string{"operation": "unfollow", "username": "jflinn"}, nil, [2]string{"unfollow", "unfollow"}},
		{"logout", "awdeorio", "/users/awdeorio/", "/accounts/logout/", map[string]string{}, nil, [2]string{"logout", "Logout"}},
		{"login", "", "/accounts/login/", "/accounts/?target=/", map[string]string{"operation": "login"}, []string{"text:username", "password:password"}, [2]string{"", "login"}},
		{"sign up", "", "/accounts/create/", "/accounts/?target=/", map[string]string{"operation": "create"},
			[]string{"file:file", "text:fullname", "text:username", "email:email", "password:password"}, [2]string{"signup", "sign up"}},
		{"edit account", "awdeorio", "/accounts/edit/", "/accounts/?target=/accounts/edit/", map[string]string{"operation": "edit_account"},
			[]string{"file:file", "text:fullname", "email:email"}, [2]string{"update", "submit"}},
		{"change password", "awdeorio", "/accounts/password/", "/accounts/?target=/accounts/edit/", map[string]string{"operation": "update_password"},
			[]string{"password:password", "password:new_password1", "password:new_password2"}, [2]string{"update_password", "submit"}},
		{"delete account", "awdeorio", "/accounts/delete/", "/accounts/?target=/accounts/create/", map[string]string{"operation": "delete"}, nil, [2]string{"delete", "confirm delete account"}},
	}
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		app := testenv.NewApp(t, backend)
		clients := map[string]*client{"": newClient(t, app)}
		for _, u := range []string{"awdeorio", "jflinn"} {
			clients[u] = loggedIn(t, app, u)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := clients[tt.user].with(t).get(tt.page).Body
				f, ok := findForm(body, tt.action, tt.hidden)
				if !ok {
					t.Fatalf("%s: no form with action %q and hidden fields %v", tt.page, tt.action, tt.hidden)
				}
				if f.Attrs["method"] != "post" || f.Attrs["enctype"] != "multipart/form-data" {
					t.Errorf("method %q, enctype %q; want post, multipart/form-data", f.Attrs["method"], f.Attrs["enctype"])
				}
				hidden := f.hidden()
				if hidden["csrf_token"] == "" {
					t.Error("no csrf_token")
				}
				delete(hidden, "csrf_token")
				if !maps.Equal(hidden, tt.hidden) {
					t.Errorf("hidden fields %v, want %v", hidden, tt.hidden)
				}
				var inputs []string
				var submits [][2]string
				for _, in := range f.Inputs {
					switch in["type"] {
					case "hidden":
					case "submit":
						submits = append(submits, [2]string{in["name"], in["value"]})
					default:
						inputs = append(inputs, in["type"]+":"+in["name"])
						if in["type"] == "file" && in["accept"] != "image/*" {
							t.Errorf("file input accepts %q, want image/*", in["accept"])
						}
						if _, required := in["required"]; tt.name == "upload post" && !required {
							t.Error("the upload's file input is not required")
						}
					}
				}
				if !slices.Equal(inputs, tt.inputs) {
					t.Errorf("inputs %v, want %v", inputs, tt.inputs)
				}
				if len(submits) != 1 || submits[0] != tt.submit {
					t.Errorf("submit buttons %v, want one named %q with value %q", submits, tt.submit[0], tt.submit[1])
				}
			})
		}
	})
}
