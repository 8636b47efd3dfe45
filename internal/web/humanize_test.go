package web

import (
	"testing"
	"time"
)

func TestTimeAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{-5 * time.Minute, "just now"}, // a little clock skew between servers
		{0, "just now"},
		{9 * time.Second, "just now"},
		{10 * time.Second, "10 seconds ago"},
		{59 * time.Second, "59 seconds ago"},
		{time.Minute, "a minute ago"},
		{119 * time.Second, "a minute ago"},
		{2 * time.Minute, "2 minutes ago"},
		{3*time.Minute + 59*time.Second, "3 minutes ago"},
		{59 * time.Minute, "59 minutes ago"},
		{time.Hour, "an hour ago"},
		{2 * time.Hour, "2 hours ago"},
		{23 * time.Hour, "23 hours ago"},
		{24 * time.Hour, "a day ago"},
		{47 * time.Hour, "a day ago"},
		{48 * time.Hour, "2 days ago"},
		{6 * 24 * time.Hour, "6 days ago"},
		{7 * 24 * time.Hour, "a week ago"},
		{14 * 24 * time.Hour, "2 weeks ago"},
		{29 * 24 * time.Hour, "4 weeks ago"},
		{31 * 24 * time.Hour, "a month ago"},
		{61 * 24 * time.Hour, "2 months ago"},
		{364 * 24 * time.Hour, "11 months ago"},
		{366 * 24 * time.Hour, "a year ago"},
		{3 * 366 * 24 * time.Hour, "3 years ago"},
	}
	for _, tt := range tests {
		if got := timeAgo(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("timeAgo(now - %v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want string
	}{{0, "0 likes"}, {1, "1 like"}, {2, "2 likes"}, {1000, "1000 likes"}}
	for _, tt := range tests {
		if got := count(tt.n, "like", "likes"); got != tt.want {
			t.Errorf("count(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
