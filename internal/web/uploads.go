package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/insta485/insta485/internal/blob"
	"github.com/insta485/insta485/internal/pictures"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/media"
)

// upload serves an uploaded picture, or one of its width variants, to
// logged-in users. The store only looks up names it could have handed out
// and only opens regular files, so no path or link reaches outside it.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	v, err := h.session(r)
	if err != nil && !errors.Is(err, auth.ErrNoSession) {
		h.serverError(w, r, err) // an outage: 503, not "log in"
		return
	}
	if err != nil {
		h.fail(w, r, v, http.StatusForbidden, "Log in to see pictures.")
		return
	}
	name := r.PathValue("filename")
	f, err := media.OpenUpload(r.Context(), h.Media, name)
	if errors.Is(err, blob.ErrNotFound) {
		h.fail(w, r, v, http.StatusNotFound, "There is no such picture. It may have been deleted.")
		return
	}
	if err != nil {
		h.failWith(w, r, v, h.storeError(r, err))
		return
	}
	defer f.Close()
	// An upload's name is random and never given to other content, so
	// browsers may keep it; private because only logged-in users may see it.
	// The file goes through the app whatever the store, rather than as a
	// redirect to a presigned object-store URL: the access rule above holds
	// for every request, and the pages' CSP (img-src 'self') needs it.
	// ServeContent answers conditional and range requests.
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if tag := f.ETag(); tag != "" {
		w.Header().Set("ETag", `"`+tag+`"`)
	}
	// The type is the content's, not the name's: a variant made from an
	// upload stored before the image pipeline (a WebP, say) is a JPEG or
	// PNG under the upload's extension.
	var head [512]byte
	n, _ := io.ReadFull(f, head[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		h.failWith(w, r, v, h.storeError(r, err))
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(head[:n]))
	limitRanges(r)
	http.ServeContent(w, r, name, f.ModTime(), f)
}

// savePicture stores the form's picture (field `file`) and calls write
// with its new name, through pictures.Save: a failed write removes the
// picture again, a successful one removes the files it orphaned. Without a
// file write gets "" when the picture is optional, and a formError is
// returned when it is required. Rejected uploads leave nothing behind.
func (h *Handler) savePicture(r *http.Request, required bool, write func(name string) (orphans []string, err error)) error {
	var up *pictures.Upload
	f, hdr, err := r.FormFile("file")
	switch {
	// A form that is not multipart (url-encoded, as scripts send forms
	// without a file) has no file either.
	case errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart):
		if required {
			return badRequest("Please choose a picture to upload.")
		}
	case err != nil:
		return badRequest("The uploaded file could not be read. Please try again.")
	default:
		defer f.Close()
		up = &pictures.Upload{Body: f, Name: hdr.Filename, Limit: h.maxUpload()}
	}
	err = h.pictures(r).Save(r.Context(), up, write)
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return &formError{http.StatusRequestEntityTooLarge,
			"The picture is larger than the limit of " + byteSize(h.maxUpload()) + ". Please choose a smaller one."}
	case errors.Is(err, media.ErrEmpty):
		return badRequest("The uploaded file is empty. Please choose a picture.")
	case errors.Is(err, media.ErrNotImage):
		return badRequest("Only PNG, JPEG, GIF and WebP pictures can be uploaded, and the file must be a whole picture.")
	case errors.Is(err, media.ErrTooManyPixels):
		return badRequest("The picture is too big: " + strings.TrimPrefix(err.Error(), media.ErrTooManyPixels.Error()+": ") + ". Please choose a smaller one.")
	}
	return h.storeError(r, err)
}

// pictures is the upload store for r: a leftover file that cannot be
// removed is logged with the request id, not shown, since the user's
// change already happened.
func (h *Handler) pictures(r *http.Request) pictures.Pictures {
	return pictures.Pictures{Store: h.Media, RemoveFailed: func(name string, err error) {
		h.log().Error("delete unused upload", "id", requestID(r), "file", name, "err", err)
	}}
}
