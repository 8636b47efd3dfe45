// Package media is insta485's image work: the pipeline every upload goes
// through (decode, EXIF orientation, scaling to at most MaxSide with width
// variants, GIF frames, re-encoding without metadata: pipeline.go, gif.go,
// orientation.go), storing an upload and opening one with its variants made
// on demand (upload.go), bringing older uploads through the pipeline
// (reprocess.go) and drawing the sample and bulk pictures (generate.go).
// Where files are kept is internal/blob.
package media
