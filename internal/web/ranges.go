package web

import (
	"net/http"
	"strings"
)

// maxRanges is how many ranges a Range header on /uploads may ask for. A
// viewer or a download resumer asks for one; many small ranges only make a
// multipart answer far larger than the file (70,000 ranges on a 21 KB
// picture made 2.85 MB).
const maxRanges = 4

// limitRanges drops a Range header asking for more than maxRanges ranges,
// so the whole file is served instead, as a server may (RFC 9110 §14.2).
func limitRanges(r *http.Request) {
	if strings.Count(r.Header.Get("Range"), ",") >= maxRanges {
		r.Header.Del("Range")
	}
}
