package dbadmin

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/insta485/insta485/internal/storage"
)

// Bulk says how much generated data Populate adds. Counts are upper bounds
// for follows and likes: pairs that already exist are skipped.
type Bulk struct {
	Users, Posts, Follows, Likes, Comments int
	// HeavyFollows makes the first generated user follow this many
	// accounts in all (a heavy reader, for benchmarks of the feed).
	HeavyFollows int
	// Files are the image filenames generated posts show and ProfileFiles
	// those generated users show, each used in turn.
	Files, ProfileFiles []string
	// PasswordHash is stored for every generated user.
	PasswordHash string
	// Seed makes the generated data repeatable.
	Seed uint64
}

// BulkResult counts the rows Populate added.
type BulkResult struct {
	Users, Posts, Follows, Likes, Comments int64
}

// bulkTable is one staging table; rows are computed on demand so that
// millions of them never sit in memory at once.
type bulkTable struct {
	name string
	cols []string
	rows int
	row  func(i int) []any
}

type bulkData struct{ staged []bulkTable }

func (b *bulkData) tables() []bulkTable { return b.staged }

func joinCols(cols []string) string { return strings.Join(cols, ", ") }

// mix is splitmix64: a cheap, well-spread hash that makes row i of generated
// data depend only on the seed and i.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

var bulkWords = strings.Fields(`amazing cute chickens crossword diag sunset lake
	coffee plank weekend hike friends lecture campus snow autumn #tbt #blessed
	great view love this wow nice shot so good where is this`)

// Populate adds generated users, posts, follows, likes and comments in one
// transaction: the data are staged in temporary tables (COPY on PostgreSQL)
// and moved into place with one INSERT … SELECT per table. On PostgreSQL the
// foreign keys and secondary indexes are set aside meanwhile and re-added at
// the end, which checks every row in one pass.
func Populate(ctx context.Context, s *storage.Store, b Bulk) (BulkResult, error) {
	var res BulkResult
	if (b.Users > 0 && len(b.ProfileFiles) == 0) || (b.Posts > 0 && len(b.Files) == 0) {
		return res, fmt.Errorf("%w: bulk users and posts need image files", storage.ErrInvalid)
	}
	if err := CheckPrivileges(ctx, s, "db random", AccessRebuild); err != nil {
		return res, err
	}
	conn, err := s.Primary().Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()

	for _, ddl := range []string{
		"CREATE TEMP TABLE bulk_users (username VARCHAR(20), fullname VARCHAR(40), email VARCHAR(40), filename VARCHAR(64), password VARCHAR(256), age BIGINT)",
		"CREATE TEMP TABLE bulk_posts (seq BIGINT, filename VARCHAR(64), owner VARCHAR(20), age BIGINT)",
		"CREATE TEMP TABLE bulk_following (follower VARCHAR(20), followee VARCHAR(20), age BIGINT)",
		"CREATE TEMP TABLE bulk_comments (seq BIGINT, owner VARCHAR(20), postid BIGINT, text VARCHAR(1024), age BIGINT)",
		"CREATE TEMP TABLE bulk_likes (owner VARCHAR(20), postid BIGINT, age BIGINT)",
	} {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return res, fmt.Errorf("create staging table: %w", err)
		}
	}
	defer func() {
		// SQLite keeps temporary tables for the connection's life.
		for _, t := range []string{"bulk_users", "bulk_posts", "bulk_following", "bulk_comments", "bulk_likes"} {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+t)
		}
	}()
	if err := engineOf(s).bulkPrepare(ctx, tx); err != nil {
		return res, fmt.Errorf("prepare bulk load: %w", err)
	}
	// The feed triggers would fan out every row one at a time; feed is
	// rebuilt in one statement at the end instead.
	resumeFeed, err := engineOf(s).pauseFeed(ctx, tx)
	if err != nil {
		return res, fmt.Errorf("pause the feed triggers: %w", err)
	}

	const year = 365 * 24 * 3600
	// Stage 1: users and posts.
	prefix, err := freeUserPrefix(ctx, tx, b.Seed)
	if err != nil {
		return res, err
	}
	newUser := func(i int) string { return fmt.Sprintf("%s%d", prefix, i) }
	users := bulkTable{"bulk_users", []string{"username", "fullname", "email", "filename", "password", "age"}, b.Users,
		func(i int) []any {
			name := newUser(i)
			return []any{name, "Generated storage.User " + fmt.Sprint(i), name + "@example.com",
				b.ProfileFiles[i%len(b.ProfileFiles)], b.PasswordHash, int64(year + mix(b.Seed^uint64(i))%year)}
		}}
	if err := engineOf(s).bulkStage(ctx, conn, tx, &bulkData{[]bulkTable{users}}); err != nil {
		return res, err
	}
	if res.Users, err = execCount(ctx, tx, `INSERT INTO users (username, fullname, email, filename, password, created)
		SELECT username, fullname, email, filename, password, `+engineOf(s).secondsAgo("age")+` FROM bulk_users`); err != nil {
		return res, fmt.Errorf("insert users: %w", err)
	}
	allUsers, err := storage.QueryColumn[string](ctx, tx, "SELECT username FROM users ORDER BY username")
	if err != nil {
		return res, err
	}
	if len(allUsers) == 0 && (b.Posts > 0 || b.Likes > 0 || b.Comments > 0 || b.Follows > 0) {
		return res, fmt.Errorf("%w: there are no users to own generated data: create the database first or add users", storage.ErrInvalid)
	}
	spacing := max(1, year/max(1, b.Posts))
	posts := bulkTable{"bulk_posts", []string{"seq", "filename", "owner", "age"}, b.Posts,
		func(i int) []any {
			h := mix(b.Seed ^ 0x5eed ^ uint64(i))
			return []any{int64(i), b.Files[i%len(b.Files)], allUsers[h%uint64(len(allUsers))], int64((b.Posts - i) * spacing)}
		}}
	if err := engineOf(s).bulkStage(ctx, conn, tx, &bulkData{[]bulkTable{posts}}); err != nil {
		return res, err
	}
	var before int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(postid), 0) FROM posts").Scan(&before); err != nil {
		return res, err
	}
	if res.Posts, err = execCount(ctx, tx, `INSERT INTO posts (filename, owner, created)
		SELECT filename, owner, `+engineOf(s).secondsAgo("age")+` FROM bulk_posts ORDER BY seq`); err != nil {
		return res, fmt.Errorf("insert posts: %w", err)
	}

	// Stage 2: what refers to posts: the new ones if there are any,
	// otherwise the existing ones.
	targetQuery := "SELECT postid FROM posts ORDER BY postid"
	if res.Posts > 0 {
		targetQuery = fmt.Sprintf("SELECT postid FROM posts WHERE postid > %d ORDER BY postid", before)
	}
	targets, err := storage.QueryColumn[int64](ctx, tx, targetQuery)
	if err != nil {
		return res, err
	}
	if len(targets) == 0 && (b.Likes > 0 || b.Comments > 0) {
		return res, fmt.Errorf("%w: there are no posts to like or comment on", storage.ErrInvalid)
	}
	nu, np := len(allUsers), len(targets)
	// Pairs are unique by construction: follow i is user i%nu following the
	// user 1+i/nu places further on; like j is on post j%np by the user
	// offset by j/np from a per-post start.
	regular := min(b.Follows, nu*(nu-1))
	// The heavy reader follows the users after it in turn, going on from
	// where its regular follows stop.
	heavy, heavyFrom, heavyRows := 0, 0, 0
	if b.HeavyFollows > 0 && b.Users > 0 {
		heavy = max(0, slices.Index(allUsers, newUser(0))) // the database's collation orders them
		heavyFrom = max(0, (regular-heavy+nu-1)/nu)
		heavyRows = max(0, min(b.HeavyFollows, nu-1)-heavyFrom)
	}
	follows := bulkTable{"bulk_following", []string{"follower", "followee", "age"}, regular + heavyRows,
		func(i int) []any {
			age := int64(mix(b.Seed^0xf011^uint64(i)) % year)
			if i >= regular {
				return []any{allUsers[heavy], allUsers[(heavy+1+heavyFrom+i-regular)%nu], age}
			}
			a := i % nu
			return []any{allUsers[a], allUsers[(a+1+i/nu)%nu], age}
		}}
	likes := bulkTable{"bulk_likes", []string{"owner", "postid", "age"}, min(b.Likes, nu*np),
		func(j int) []any {
			p := j % np
			start := mix(b.Seed ^ 0x11ce ^ uint64(p))
			return []any{allUsers[(start+uint64(j/np))%uint64(nu)], targets[p], int64(mix(b.Seed^uint64(j)) % year)}
		}}
	comments := bulkTable{"bulk_comments", []string{"seq", "owner", "postid", "text", "age"}, b.Comments,
		func(i int) []any {
			h := mix(b.Seed ^ 0xc0 ^ uint64(i))
			n := 2 + int(h%6)
			words := make([]string, n)
			for k := range words {
				words[k] = bulkWords[mix(h+uint64(k))%uint64(len(bulkWords))]
			}
			return []any{int64(i), allUsers[h%uint64(nu)], targets[(h>>20)%uint64(max(np, 1))], strings.Join(words, " "),
				int64((b.Comments - i) * max(1, year/max(1, b.Comments)))}
		}}
	if np == 0 {
		comments.rows = 0
	}
	if err := engineOf(s).bulkStage(ctx, conn, tx, &bulkData{[]bulkTable{follows, likes, comments}}); err != nil {
		return res, err
	}
	ago := engineOf(s).secondsAgo("s.age")
	if res.Follows, err = execCount(ctx, tx, `INSERT INTO following (follower, followee, created)
		SELECT s.follower, s.followee, `+ago+` FROM bulk_following s
		WHERE NOT EXISTS (SELECT 1 FROM following f WHERE f.follower = s.follower AND f.followee = s.followee)`); err != nil {
		return res, fmt.Errorf("insert follows: %w", err)
	}
	if res.Likes, err = execCount(ctx, tx, `INSERT INTO likes (owner, postid, created)
		SELECT s.owner, s.postid, `+ago+` FROM bulk_likes s
		WHERE NOT EXISTS (SELECT 1 FROM likes l WHERE l.postid = s.postid AND l.owner = s.owner)`); err != nil {
		return res, fmt.Errorf("insert likes: %w", err)
	}
	if res.Comments, err = execCount(ctx, tx, `INSERT INTO comments (owner, postid, text, created)
		SELECT s.owner, s.postid, s.text, `+ago+` FROM bulk_comments s ORDER BY s.seq`); err != nil {
		return res, fmt.Errorf("insert comments: %w", err)
	}
	if err := rebuildFeed(ctx, s, tx); err != nil {
		return res, err
	}
	if err := resumeFeed(); err != nil {
		return res, fmt.Errorf("resume the feed triggers: %w", err)
	}
	if err := engineOf(s).bulkFinish(ctx, tx); err != nil {
		return res, fmt.Errorf("finish bulk load: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("commit bulk load: %w", err)
	}
	s.RecordWrite(ctx)
	return res, nil
}

// freeUserPrefix picks a prefix for generated usernames that no existing
// user has, so repeated runs never collide.
func freeUserPrefix(ctx context.Context, tx *sql.Tx, seed uint64) (string, error) {
	for i := uint64(0); ; i++ {
		prefix := fmt.Sprintf("u%04x_", mix(seed+i)&0xffff)
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE lower(username) LIKE $1", prefix+"%").Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return prefix, nil
		}
	}
}

func execCount(ctx context.Context, tx *sql.Tx, query string) (int64, error) {
	r, err := tx.ExecContext(ctx, query)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
