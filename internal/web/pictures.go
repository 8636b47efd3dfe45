package web

import (
	"strings"

	"github.com/insta485/insta485/internal/storage"
)

// Pictures on pages carry their size (width and height attributes, so the
// page is laid out before their bytes arrive and nothing moves when they
// do), a placeholder colour painted where they go, and loading="lazy"
// when they are below the first screen. docs/pages.md says why. The
// pages read the sizes and colours in their one statement (the loads'
// WithPictures: table pictures joined on the filename).

// eagerThumbs is how many of a user page's pictures load at once: the
// first row of the grid, on the first screen at any width.
const eagerThumbs = 3

// placeholderClasses are the classes that paint p's colour behind its img
// until the picture arrives, "" when its colour is unknown. The pages'
// Content-Security-Policy allows no style attributes, so style.css has a
// class per hex digit of each channel ("ph pr7 pg6 pb6" for #736c65):
// 4096 colours from 48 rules, close enough for a placeholder.
func placeholderClasses(p storage.Picture) string {
	c := p.Color
	if len(c) != 7 || c[0] != '#' || strings.Trim(c[1:], "0123456789abcdef") != "" {
		return ""
	}
	return "ph pr" + c[1:2] + " pg" + c[3:4] + " pb" + c[5:6]
}
