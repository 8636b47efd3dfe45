package api

import (
	"math"
	"net/url"
	"testing"
)

// FuzzParsePageQuery: whatever query string a client sends, the feed's
// parameters parse without panicking, and what is accepted is in bounds:
// 1 ≤ size ≤ MaxPageSize, page and postid_lte not negative, and the rows
// to skip (page × size) do not overflow. The seeds run as an ordinary test.
func FuzzParsePageQuery(f *testing.F) {
	for _, seed := range []string{
		"", "size=1", "size=100", "size=101", "size=0", "size=-1", "size=9223372036854775807",
		"size=10&page=922337203685477580", "size=abc", "size=1.5", "size=%00", "page=-1", "postid_lte=-5",
		"size=1&size=2", "size=&page=", "postid_lte=99999999999999999999", "size=%F0%9F%98%80",
		"size=1e3", "size=0x10", "size=+5", "size= 5", "size=05", "page=1&postid_lte=0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // net/http answers such a query before it reaches us
		}
		p, err := parsePageQuery(q)
		if err != nil {
			if err != errBadRequest {
				t.Fatalf("parsePageQuery(%q) = %v, want errBadRequest", raw, err)
			}
			return
		}
		if p.size < 1 || p.size > MaxPageSize || p.page < 0 || p.lte < 0 {
			t.Fatalf("parsePageQuery(%q) accepted %+v", raw, p)
		}
		if p.page > 0 && p.size > math.MaxInt64/p.page {
			t.Fatalf("parsePageQuery(%q): page*size overflows", raw)
		}
	})
}
