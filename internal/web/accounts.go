package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/storage"
)

type loginPage struct {
	base
	CSRF     string
	Username string
	Error    string
}

type createPage struct {
	base
	CSRF                      string
	Username, Fullname, Email string
	Error                     string
}

type editPage struct {
	base
	CSRF            string
	User            storage.User
	Fullname, Email string
	Error           string
}

type passwordPage struct {
	base
	CSRF  string
	Error string
}

type deletePage struct {
	base
	CSRF string
}

// loginPage shows the login form; logged-in users go to their feed.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.viewer(r); ok {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	h.renderLogin(w, r, http.StatusOK, loginPage{})
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, page loginPage) {
	page.base = base{Title: "Log in"}
	page.CSRF = h.Auth.Sessions.CSRFToken(h.anonBinding(w, r))
	h.render(w, r, status, "login.html", page)
}

// createPage shows the sign-up form; logged-in users go to their settings.
func (h *Handler) createPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.viewer(r); ok {
		http.Redirect(w, r, "/accounts/edit/", http.StatusFound)
		return
	}
	h.renderCreate(w, r, http.StatusOK, createPage{})
}

func (h *Handler) renderCreate(w http.ResponseWriter, r *http.Request, status int, page createPage) {
	page.base = base{Title: "Sign up"}
	page.CSRF = h.Auth.Sessions.CSRFToken(h.anonBinding(w, r))
	h.render(w, r, status, "create.html", page)
}

func (h *Handler) editPage(w http.ResponseWriter, r *http.Request, v viewer) {
	h.renderEdit(w, r, v, http.StatusOK, editPage{Fullname: v.User.Fullname, Email: v.User.Email})
}

func (h *Handler) renderEdit(w http.ResponseWriter, r *http.Request, v viewer, status int, page editPage) {
	page.base = base{Title: "Edit profile", Logname: v.Logname()}
	page.CSRF = h.csrfToken(v)
	page.User = v.User
	h.render(w, r, status, "edit.html", page)
}

func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request, v viewer) {
	h.renderPassword(w, r, v, http.StatusOK, "")
}

func (h *Handler) renderPassword(w http.ResponseWriter, r *http.Request, v viewer, status int, msg string) {
	h.render(w, r, status, "password.html", passwordPage{
		base: base{Title: "Change password", Logname: v.Logname()}, CSRF: h.csrfToken(v), Error: msg,
	})
}

func (h *Handler) deletePage(w http.ResponseWriter, r *http.Request, v viewer) {
	h.render(w, r, http.StatusOK, "delete.html", deletePage{
		base: base{Title: "Delete account", Logname: v.Logname()}, CSRF: h.csrfToken(v),
	})
}

// authCheck answers 200 with an empty body for a logged-in user and 403
// otherwise, for a front proxy or a client checking a session. When the
// database cannot be asked it answers 503, which a proxy must not take for
// a logout.
func (h *Handler) authCheck(w http.ResponseWriter, r *http.Request) {
	v, err := h.session(r)
	if err != nil && !errors.Is(err, auth.ErrNoSession) {
		h.serverError(w, r, err)
		return
	}
	if err != nil {
		h.fail(w, r, v, http.StatusForbidden, "You are not logged in.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// accounts handles every form posted to /accounts/. Login and sign-up come
// from visitors, so their CSRF token is bound to the anonymous cookie; the
// other operations need a session and a token bound to it.
func (h *Handler) accounts(w http.ResponseWriter, r *http.Request) {
	v, sessErr := h.session(r)
	h.withForm(w, r, v, func() { h.accountsForm(w, r, v, sessErr) })
}

func (h *Handler) accountsForm(w http.ResponseWriter, r *http.Request, v viewer, sessErr error) {
	op := r.PostFormValue("operation")
	switch op {
	case "login", "create":
		if !h.checkAnonCSRF(r, v) {
			h.failCSRF(w, r, v)
			return
		}
		if op == "login" {
			h.login(w, r)
		} else {
			h.signUp(w, r)
		}
		return
	case "delete", "edit_account", "update_password":
	default:
		h.failWith(w, r, v, unknownOperation(r))
		return
	}
	if sessErr != nil && !errors.Is(sessErr, auth.ErrNoSession) {
		h.serverError(w, r, sessErr) // an outage is not a logout
		return
	}
	if sessErr != nil {
		h.fail(w, r, v, http.StatusForbidden, "You need to log in first.")
		return
	}
	if !h.Auth.Sessions.CheckCSRF(v.Session, r.PostFormValue(csrfField)) {
		h.failCSRF(w, r, v)
		return
	}
	switch op {
	case "delete":
		h.deleteAccount(w, r, v)
	case "edit_account":
		h.editAccount(w, r, v)
	case "update_password":
		h.updatePassword(w, r, v)
	}
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	page := loginPage{Username: field(r, "username")}
	password := r.PostFormValue("password")
	if page.Username == "" || password == "" {
		page.Error = "Please enter your username and password."
		h.renderLogin(w, r, http.StatusBadRequest, page)
		return
	}
	u, err := h.Auth.Login(r.Context(), auth.ClientAddress(r), page.Username, password)
	var throttled *auth.ThrottledError
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		page.Error = "Wrong username or password. Please try again."
		h.renderLogin(w, r, http.StatusForbidden, page)
		return
	case errors.Is(err, auth.ErrPasswordTooLong):
		page.Error = errPasswordTooLong.Error()
		h.renderLogin(w, r, http.StatusBadRequest, page)
		return
	case errors.As(err, &throttled):
		secs := int(throttled.RetryAfter / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		page.Error = "Too many wrong passwords. Please wait " + count(secs, "second", "seconds") + " and try again."
		h.renderLogin(w, r, http.StatusTooManyRequests, page)
		return
	}
	if err == nil {
		err = h.startSession(w, r, u)
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	redirectTarget(w, r, "/")
}

// signUp creates an account and logs its owner in.
func (h *Handler) signUp(w http.ResponseWriter, r *http.Request) {
	page := createPage{Username: field(r, "username"), Fullname: field(r, "fullname"), Email: field(r, "email")}
	u, err := h.createAccount(r, page.Username, page.Fullname, page.Email, r.PostFormValue("password"))
	var fe *formError
	if errors.As(err, &fe) {
		page.Error = fe.msg
		h.renderCreate(w, r, fe.status, page)
		return
	}
	if err == nil {
		err = h.startSession(w, r, u)
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	redirectTarget(w, r, "/")
}

var errUsernameTaken = &formError{http.StatusConflict, "That username is taken. Please choose another one."}

func (h *Handler) createAccount(r *http.Request, username, fullname, email, password string) (storage.User, error) {
	if err := checkText("full name", fullname, maxFullname); err != nil {
		return storage.User{}, err
	}
	if err := checkUsername(username); err != nil {
		return storage.User{}, err
	}
	if err := checkText("email", email, maxEmail); err != nil {
		return storage.User{}, err
	}
	if err := checkPassword(password); err != nil {
		return storage.User{}, err
	}
	ctx := r.Context()
	// Check the name before storing the picture, so that a taken name
	// costs no upload; CreateUser still catches a race for the same name.
	if _, err := h.Store.User(ctx, username); err == nil {
		return storage.User{}, errUsernameTaken
	} else if !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, err
	}
	u := storage.User{Username: username, Fullname: fullname, Email: email, Password: auth.HashPassword(password)}
	err := h.savePicture(r, true, func(photo string) ([]string, error) {
		u.Filename = photo
		return nil, h.Store.CreateUser(ctx, u)
	})
	if errors.Is(err, storage.ErrConflict) {
		return storage.User{}, errUsernameTaken
	}
	if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

var errPasswordTooLong = badRequest("The password is too long: at most " + strconv.Itoa(maxPassword) + " bytes.")

func checkPassword(pw string) error {
	if pw == "" {
		return badRequest("Please choose a password.")
	}
	if len(pw) > maxPassword {
		return errPasswordTooLong
	}
	return nil
}

func (h *Handler) editAccount(w http.ResponseWriter, r *http.Request, v viewer) {
	page := editPage{Fullname: field(r, "fullname"), Email: field(r, "email")}
	err := h.updateAccount(r, v, page.Fullname, page.Email)
	var fe *formError
	if errors.As(err, &fe) {
		page.Error = fe.msg
		h.renderEdit(w, r, v, fe.status, page)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	redirectTarget(w, r, "/")
}

func (h *Handler) updateAccount(r *http.Request, v viewer, fullname, email string) error {
	if err := checkText("full name", fullname, maxFullname); err != nil {
		return err
	}
	if err := checkText("email", email, maxEmail); err != nil {
		return err
	}
	return h.savePicture(r, false, func(photo string) ([]string, error) {
		return h.Store.UpdateUser(r.Context(), v.Logname(), fullname, email, photo)
	})
}

func (h *Handler) updatePassword(w http.ResponseWriter, r *http.Request, v viewer) {
	u, err := h.changePassword(r, v)
	var fe *formError
	var throttled *auth.ThrottledError
	if errors.As(err, &throttled) {
		secs := int(throttled.RetryAfter / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		h.renderPassword(w, r, v, http.StatusTooManyRequests,
			"Too many wrong passwords. Please wait "+count(secs, "second", "seconds")+" and try again.")
		return
	}
	if errors.As(err, &fe) {
		h.renderPassword(w, r, v, fe.status, fe.msg)
		return
	}
	// SetPassword ended every session of the user, so every other browser
	// is logged out; this one gets a new session.
	if err == nil {
		err = h.startSession(w, r, u)
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	redirectTarget(w, r, "/")
}

func (h *Handler) changePassword(r *http.Request, v viewer) (storage.User, error) {
	old, new1, new2 := r.PostFormValue("password"), r.PostFormValue("new_password1"), r.PostFormValue("new_password2")
	if old == "" || new1 == "" || new2 == "" {
		return storage.User{}, badRequest("Please fill in all three password fields.")
	}
	if err := checkPassword(new1); err != nil {
		return storage.User{}, err
	}
	// The current password is checked like a login, throttle included:
	// whoever holds a session (a borrowed laptop, a stolen cookie) may not
	// guess it at leisure to take the account over.
	_, err := h.Auth.Login(r.Context(), auth.ClientAddress(r), v.User.Username, old)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return storage.User{}, &formError{http.StatusForbidden, "Your current password is wrong, so it was not changed."}
	case errors.Is(err, auth.ErrPasswordTooLong):
		return storage.User{}, errPasswordTooLong
	case err != nil:
		return storage.User{}, err
	}
	if new1 != new2 {
		return storage.User{}, &formError{http.StatusUnauthorized, "The two new passwords differ. Please type the same new password twice."}
	}
	u := v.User
	u.Password = auth.HashPassword(new1)
	if err := h.Store.SetPassword(r.Context(), u.Username, u.Password); err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// deleteAccount removes the logname with everything they made, pictures
// included; their sessions on every browser go with the account.
func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, v viewer) {
	err := h.pictures(r).Delete(r.Context(), func() ([]string, error) {
		return h.Store.DeleteUser(r.Context(), v.Logname())
	})
	// ErrNotFound: deleted by a request a moment ago; the outcome is the same.
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	http.SetCookie(w, h.Auth.Sessions.ClearCookie(r))
	redirectTarget(w, r, "/")
}

// logout ends the session, on the server (so the cookie stops working on
// every app server, even if a copy of it was kept) and in this browser.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, v viewer) {
	if err := h.Auth.EndSession(r.Context(), v.Session); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.SetCookie(w, h.Auth.Sessions.ClearCookie(r))
	http.Redirect(w, r, "/accounts/login/", http.StatusFound)
}
