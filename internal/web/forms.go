package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/storage"
)

// Field limits: the database columns' (SPEC §1), checked here first so that
// the user gets a message instead of a failed insert.
const (
	maxUsername = 20
	maxFullname = 40
	maxEmail    = 40
	maxComment  = 1024
	// maxPassword bounds what is fed to the password hash.
	maxPassword = auth.MaxPasswordBytes
)

// usernameChars are the characters a new username may have: they need no
// escaping in URLs or markup.
var usernameChars = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// field returns the form field name with surrounding spaces removed.
func field(r *http.Request, name string) string {
	return strings.TrimSpace(r.PostFormValue(name))
}

// storable reports whether s is text every backend can store and compare:
// valid UTF-8 without NUL, which PostgreSQL refuses with an error.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// possibleUsername reports whether some user could be called name; a name
// that fails it is "no such user" without asking the database.
func possibleUsername(name string) bool {
	return name != "" && storable(name) && utf8.RuneCountInString(name) <= maxUsername
}

// checkText returns a formError when value, labelled label, is empty, not
// storable text or longer than max characters.
func checkText(label, value string, max int) error {
	if value == "" {
		return badRequest("Please fill in the " + label + ".")
	}
	if !storable(value) {
		return badRequest("The " + label + " holds characters that cannot be stored.")
	}
	if utf8.RuneCountInString(value) > max {
		return badRequest("The " + label + " is too long: at most " + strconv.Itoa(max) + " characters.")
	}
	return nil
}

// checkUsername is checkText plus the characters a new username may use.
func checkUsername(name string) error {
	if err := checkText("username", name, maxUsername); err != nil {
		return err
	}
	if !usernameChars.MatchString(name) {
		return badRequest("A username may only use letters, digits and the characters _ . -")
	}
	if !storage.SafeUsername(name) {
		return badRequest("A username cannot be . or .. (links to it would lead to another page). Please choose another one.")
	}
	return nil
}

// idField reads the positive integer id in form field name.
func idField(r *http.Request, name string) (int64, error) {
	v := field(r, name)
	if v == "" {
		return 0, badRequest("The form is missing its " + name + ".")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("The " + name + " must be a positive whole number.")
	}
	return id, nil
}

// unknownOperation is the error for a form whose operation this route does
// not have.
func unknownOperation(r *http.Request) error {
	op := r.PostFormValue("operation")
	if op == "" {
		return badRequest("The form is missing its operation.")
	}
	if len(op) > 40 {
		op = op[:40] + "…"
	}
	return badRequest("Unknown operation " + strconv.Quote(op) + ".")
}

// userPath is the path of username's page.
func userPath(username string) string {
	return "/users/" + url.PathEscape(username) + "/"
}
