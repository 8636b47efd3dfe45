package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/insta485/insta485/internal/auth"
	"github.com/insta485/insta485/internal/media"
	"github.com/insta485/insta485/internal/storage"
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
	if errors.Is(err, media.ErrNotFound) {
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
	http.ServeContent(w, r, name, f.ModTime(), f)
}

// saveUpload stores the form's picture (field `file`) and returns its new
// name. Without a file it returns "" when the picture is optional and a
// formError when it is required. Rejected uploads leave nothing behind.
func (h *Handler) saveUpload(r *http.Request, required bool) (string, error) {
	f, hdr, err := r.FormFile("file")
	// A form that is not multipart (url-encoded, as scripts send forms
	// without a file) has no file either.
	if errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart) {
		if required {
			return "", badRequest("Please choose a picture to upload.")
		}
		return "", nil
	}
	if err != nil {
		return "", badRequest("The uploaded file could not be read. Please try again.")
	}
	defer f.Close()
	name, info, err := media.Save(r.Context(), h.Media, f, hdr.Filename, h.maxUpload())
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return "", &formError{http.StatusRequestEntityTooLarge,
			"The picture is larger than the limit of " + byteSize(h.maxUpload()) + ". Please choose a smaller one."}
	case errors.Is(err, media.ErrEmpty):
		return "", badRequest("The uploaded file is empty. Please choose a picture.")
	case errors.Is(err, media.ErrNotImage):
		return "", badRequest("Only PNG, JPEG, GIF and WebP pictures can be uploaded, and the file must be a whole picture.")
	case errors.Is(err, media.ErrTooManyPixels):
		return "", badRequest("The picture is too big: " + strings.TrimPrefix(err.Error(), media.ErrTooManyPixels.Error()+": ") + ". Please choose a smaller one.")
	case err != nil:
		return "", h.storeError(r, err)
	}
	// Its size and colour, so that pages lay it out before it arrives.
	if err := h.Store.PutPicture(r.Context(), storage.Picture{Filename: name, Width: info.Width, Height: info.Height, Color: info.Color}); err != nil {
		h.removeFiles(r, name)
		return "", err
	}
	return name, nil
}

// removeFiles deletes pictures nothing refers to any more, with their
// width variants. A failure is
// logged, not shown: the user's change already happened, and a stray file
// costs only space.
func (h *Handler) removeFiles(r *http.Request, names ...string) {
	// The files must go even if the client has hung up meanwhile.
	ctx := context.WithoutCancel(r.Context())
	if err := h.Store.DeletePictures(ctx, names...); err != nil {
		h.log().Error("forget unused pictures", "id", requestID(r), "files", names, "err", err)
	}
	for _, n := range names {
		if err := media.Remove(ctx, h.Media, n); err != nil {
			h.log().Error("delete unused upload", "id", requestID(r), "file", n, "err", err)
		}
	}
}
