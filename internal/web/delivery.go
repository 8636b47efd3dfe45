package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/insta485/insta485/internal/blob"
)

// noSuchPicture is the 404 message of /uploads/ in every delivery mode.
const noSuchPicture = "There is no such picture. It may have been deleted."

// handOff answers a checked request for picture name without sending its
// bytes (--uploads-delivery redirect or x-accel-redirect): the 404 stays
// the app's, and only the bytes come from elsewhere.
func (h *Handler) handOff(w http.ResponseWriter, r *http.Request, v viewer, name string) {
	ho, err := h.Delivery.Handoff(r.Context(), name)
	if errors.Is(err, blob.ErrNotFound) {
		h.fail(w, r, v, http.StatusNotFound, noSuchPicture)
		return
	}
	if err != nil {
		h.failWith(w, r, v, h.storeError(r, err))
		return
	}
	if ho.XAccel != "" {
		// nginx replaces this empty answer by the file, with the headers
		// its internal location sets (deploy/nginx.conf).
		w.Header().Set("X-Accel-Redirect", ho.XAccel)
		w.WriteHeader(http.StatusOK)
		return
	}
	// The browser may reuse the redirect only while its URL works.
	age := int(time.Until(ho.Expires) / time.Second)
	w.Header().Set("Cache-Control", "private, max-age="+strconv.Itoa(max(age, 0)))
	http.Redirect(w, r, ho.Redirect, http.StatusFound)
}

// pageCSP is the pages' Content-Security-Policy: with pictures redirected
// to an object store, its origin may serve images too.
func (h *Handler) pageCSP() string {
	if o := h.Delivery.ImageOrigin(); o != "" {
		return contentSecurityPolicyWithImages(o)
	}
	return contentSecurityPolicy
}
