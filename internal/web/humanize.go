package web

import (
	"strconv"
	"time"
)

// timeAgo says how long before now t was, the way the classic site did
// (after Python's arrow library): "just now", "30 seconds ago", "a minute
// ago", "3 minutes ago", "an hour ago", "2 days ago", "a week ago", "3
// months ago", "a year ago". A t in the future (clocks of two servers a
// little apart) is "just now".
func timeAgo(t, now time.Time) string {
	const (
		day   = 24 * time.Hour
		week  = 7 * day
		month = 2629800 * time.Second // a mean month: 30.4375 days
		year  = 31557600 * time.Second
	)
	d := now.Sub(t)
	switch {
	case d < 10*time.Second:
		return "just now"
	case d < time.Minute:
		return plural(int(d/time.Second), "second")
	case d < 2*time.Minute:
		return "a minute ago"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 2*time.Hour:
		return "an hour ago"
	case d < day:
		return plural(int(d/time.Hour), "hour")
	case d < 2*day:
		return "a day ago"
	case d < week:
		return plural(int(d/day), "day")
	case d < 2*week:
		return "a week ago"
	case d < month:
		return plural(int(d/week), "week")
	case d < 2*month:
		return "a month ago"
	case d < year:
		return plural(int(d/month), "month")
	case d < 2*year:
		return "a year ago"
	}
	return plural(int(d/year), "year")
}

// plural is "n units ago" for n of at least 2, which is all timeAgo asks.
func plural(n int, unit string) string {
	return strconv.Itoa(n) + " " + unit + "s ago"
}
