package storage_test

import (
	"testing"

	"github.com/insta485/insta485/internal/storage"
	"github.com/insta485/insta485/internal/testenv"
)

// The one-statement reads of every page and API call (the session check
// with the page's data beside it) scan no big table, on both backends and
// (PostgreSQL) in custom and generic plans. go test -v shows the plans.
func TestOneStatementReadPlansUseIndexes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, backend string) {
		t.Parallel()
		s, busy, _ := populatedStore(t, backend)
		for _, c := range []struct {
			name  string
			v     storage.Viewer
			loads []storage.Load
		}{
			{"session check", storage.Viewer{Username: busy, SessionID: "s"}, nil},
			{"page /", storage.Viewer{Username: busy, SessionID: "s"}, []storage.Load{&storage.FeedLoad{Page: storage.FeedPage{Size: 10}, WithPosts: true}}},
			{"api feed, later page", storage.Viewer{Username: busy}, []storage.Load{&storage.FeedLoad{Page: storage.FeedPage{Size: 10, Page: 20}, WithNewest: true}}},
			{"post detail", storage.Viewer{Username: busy}, []storage.Load{&storage.PostLoad{PostID: 5}}},
			{"user page", storage.Viewer{Username: busy, SessionID: "s"}, []storage.Load{&storage.ProfileLoad{Username: "jag"}}},
			{"followers", storage.Viewer{Username: busy, SessionID: "s"}, []storage.Load{&storage.RelationsLoad{Kind: storage.RelFollowers, Username: "jag"}}},
			{"following", storage.Viewer{Username: busy, SessionID: "s"}, []storage.Load{&storage.RelationsLoad{Kind: storage.RelFollowing, Username: busy}}},
		} {
			query, args := s.ReadAsQueryForTest(c.v, c.loads...)
			checkPlans(t, s, backend, c.name, query, args, nil)
		}
	})
}
