package storage

// Reads in one statement.
//
// A page or an API call reads the viewer's session (or, for HTTP Basic,
// the viewer's password hash) and then its data. On PostgreSQL every
// statement is a network round trip, and the machines this runs on share
// their cores with the database, so ReadAs runs both in one statement: the
// viewer's row, and beside it one JSON value per Load (json_agg on
// PostgreSQL, json_group_array on SQLite) holding, say, the feed's posts
// with their like counts and comments. A statement is also one implicit
// transaction, so the reads agree with each other, and a connection pooler
// in transaction mode has nothing to keep between statements.
//
// With read replicas the viewer's row still comes from the primary (a
// replica may not have replayed a logout or password change yet) and the
// loads go where readOwnWrites sends them: two statements. The viewer's
// check runs as sessionRead says (postgres_failover.go): retried once in an outage,
// and answered by a replica only while the primary cannot be reached.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Viewer is who a read is for.
type Viewer struct {
	// Username is the user the read is for: the name a signed session
	// cookie carries, or the one HTTP Basic sends.
	Username string
	// SessionID, when set, must be a live session of Username. When it is
	// empty the caller checks a password against the row ReadAs returns.
	SessionID string
}

// Load is a read ReadAs runs in the statement that checks the viewer.
type Load interface {
	// sql returns an SQL expression giving the result as JSON text (or
	// NULL). $1 is the viewer's username; p adds other arguments.
	sql(d dialect, p *params) string
	// decode reads that result; it may be called more than once (a read
	// retried on the primary) and must start afresh each time.
	decode(data []byte) error
}

// params collects a statement's arguments.
type params struct{ args []any }

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// ReadAs checks the viewer and runs loads for them in one statement. It
// returns the viewer's row, password hash included, or ErrNotFound when
// there is no such user or, with a SessionID, the session has ended or
// expired. The loads are filled only when it returns no error.
func (s *Store) ReadAs(ctx context.Context, v Viewer, loads ...Load) (User, error) {
	q0, args, exprs, loadArgs := readAsQuery(s.dialect, v, loads)
	data := make([][]byte, len(loads))
	var u User
	var err error
	if s.replicas == nil || len(loads) == 0 {
		dest := []any{&u.Username, &u.Fullname, &u.Email, &u.Filename, &u.Password, &u.Created}
		for i := range data {
			dest = append(dest, &data[i])
		}
		err = s.sessionRead(ctx, func(ctx context.Context, q reader) error {
			return q.QueryRowContext(ctx, q0, args...).Scan(dest...)
		})
	} else {
		// Built once: sessionRead may run it twice (primary, then a
		// replica), and each viewerFrom call adds its arguments.
		check := &params{args: []any{v.Username}}
		checkSQL := viewerColumns + viewerFrom(s.dialect, v, check)
		err = s.sessionRead(ctx, func(ctx context.Context, q reader) error {
			return q.QueryRowContext(ctx, checkSQL, check.args...).
				Scan(&u.Username, &u.Fullname, &u.Email, &u.Filename, &u.Password, &u.Created)
		})
		if err == nil {
			err = s.readOwnWrites(ctx, func(q reader) error {
				dest := make([]any, len(data))
				for i := range data {
					dest[i] = &data[i]
				}
				return q.QueryRowContext(ctx, "SELECT "+strings.Join(exprs, ", "), loadArgs...).Scan(dest...)
			})
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("read as %s: %w", v.Username, err)
	}
	u.Created = utc(u.Created)
	if err := decodeLoads(loads, data); err != nil {
		return User{}, err
	}
	return u, nil
}

const viewerColumns = "SELECT u.username, u.fullname, u.email, u.filename, u.password, u.created"

// readAsQuery returns ReadAs's one statement and its arguments, and the
// loads' expressions and arguments alone (for a store with replicas).
func readAsQuery(d dialect, v Viewer, loads []Load) (query string, args []any, exprs []string, loadArgs []any) {
	p := &params{args: []any{v.Username}}
	exprs = make([]string, len(loads))
	for i, l := range loads {
		exprs[i] = "(" + l.sql(d, p) + ")"
	}
	loadArgs = p.args
	query = viewerColumns
	for _, e := range exprs {
		query += ", " + e
	}
	query += viewerFrom(d, v, p)
	return query, p.args, exprs, loadArgs
}

// viewerFrom is the FROM clause that finds the viewer's row.
func viewerFrom(d dialect, v Viewer, p *params) string {
	if v.SessionID == "" {
		return " FROM users u WHERE u.username = $1"
	}
	id, now := p.add(v.SessionID), p.add(time.Now().Unix())
	if d.name() == "postgres" {
		// The same query as a function (migration 0006, postgres_functions.go).
		return " FROM insta485_viewer($1, " + id + ", " + now + ") u"
	}
	return viewerSessionFrom(id, now)
}

// viewerSessionFrom finds the viewer's row when the session whose id is
// placeholder id is theirs and alive at time now.
func viewerSessionFrom(id, now string) string {
	return " FROM sessions s JOIN users u ON u.username = s.username WHERE s.id = " + id +
		" AND s.expires >= " + now + " AND s.username = $1"
}

// load runs loads for logname without checking anyone, in one statement
// that readOwnWrites routes.
func (s *Store) load(ctx context.Context, logname string, loads ...Load) error {
	p := &params{args: []any{logname}}
	exprs := make([]string, len(loads))
	for i, l := range loads {
		exprs[i] = "(" + l.sql(s.dialect, p) + ")"
	}
	data := make([][]byte, len(loads))
	err := s.readOwnWrites(ctx, func(q reader) error {
		dest := make([]any, len(data))
		for i := range data {
			dest[i] = &data[i]
		}
		return q.QueryRowContext(ctx, "SELECT "+strings.Join(exprs, ", "), p.args...).Scan(dest...)
	})
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return decodeLoads(loads, data)
}

func decodeLoads(loads []Load, data [][]byte) error {
	for i, l := range loads {
		if err := l.decode(data[i]); err != nil {
			return fmt.Errorf("decode %T: %w", l, err)
		}
	}
	return nil
}

// unmarshal decodes JSON text, NULL (nil) leaving v as it is.
func unmarshal(data []byte, v any) error {
	if data == nil {
		return nil
	}
	return json.Unmarshal(data, v)
}

// postsJSON is the JSON expression of the posts p (joined with their
// owners o) that from and where select, newest first, as logname ($1) sees
// them: one object per post with its like count, logname's like and its
// comments, oldest first; with pictures, also what is known of its file's
// size and colour (table pictures, looked up by key).
func postsJSON(d dialect, from, where string, pictures bool) string {
	comment := d.jsonObject("'id', c.commentid", "'o', c.owner", "'t', c.text", "'c', "+d.epoch("c.created"))
	fields := []string{"'id', p.postid", "'f', p.filename", "'o', p.owner", "'of', o.filename", "'c', " + d.epoch("p.created"),
		"'l', (SELECT count(*) FROM likes l WHERE l.postid = p.postid)",
		"'m', COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0)",
		"'cm', " + d.jsonSub("SELECT "+d.jsonArray(comment, "c.commentid")+" FROM comments c WHERE c.postid = p.postid")}
	if pictures {
		fields = append(fields, "'w', pic.width", "'h', pic.height", "'pc', pic.color")
		from += " LEFT JOIN pictures pic ON pic.filename = p.filename"
	}
	return "SELECT " + d.jsonArray(d.jsonObject(fields...), "p.postid DESC") + " FROM " + from + " JOIN users o ON o.username = p.owner " + where
}

// pictureJSON is what postsJSON and ProfileLoad read of a picture.
type pictureJSON struct {
	Width  int    `json:"w"`
	Height int    `json:"h"`
	Color  string `json:"pc"`
}

// addPicture records in pics what is known of filename's picture, when
// its row was found (a width of 0 means there was none).
func addPicture(pics map[string]Picture, filename string, p pictureJSON) {
	if pics != nil && p.Width > 0 {
		pics[filename] = Picture{Filename: filename, Width: p.Width, Height: p.Height, Color: p.Color}
	}
}

type postJSON struct {
	ID            int64  `json:"id"`
	Filename      string `json:"f"`
	Owner         string `json:"o"`
	OwnerFilename string `json:"of"`
	Created       int64  `json:"c"`
	Likes         int    `json:"l"`
	LikeID        int64  `json:"m"`
	pictureJSON
	Comments []struct {
		ID      int64  `json:"id"`
		Owner   string `json:"o"`
		Text    string `json:"t"`
		Created int64  `json:"c"`
	} `json:"cm"`
}

// decodePosts reads postsJSON's result; pics, when not nil, gets what is
// known of the posts' pictures.
func decodePosts(data []byte, pics map[string]Picture) ([]Post, error) {
	var in []postJSON
	if err := unmarshal(data, &in); err != nil {
		return nil, err
	}
	return convertPosts(in, pics), nil
}

// convertPosts turns decoded postsJSON objects into Posts.
func convertPosts(in []postJSON, pics map[string]Picture) []Post {
	out := make([]Post, len(in))
	for i, p := range in {
		out[i] = Post{PostID: p.ID, Filename: p.Filename, Owner: p.Owner, OwnerFilename: p.OwnerFilename,
			Created: time.Unix(p.Created, 0).UTC(), Likes: p.Likes, LognameLikeID: p.LikeID}
		addPicture(pics, p.Filename, p.pictureJSON)
		if len(p.Comments) > 0 {
			out[i].Comments = make([]Comment, len(p.Comments))
			for j, c := range p.Comments {
				out[i].Comments[j] = Comment{CommentID: c.ID, PostID: p.ID, Owner: c.Owner, Text: c.Text, Created: time.Unix(c.Created, 0).UTC()}
			}
		}
	}
	return out
}

// FeedLoad reads a page of the viewer's feed (see Feed).
type FeedLoad struct {
	Page FeedPage
	// WithPosts reads the posts themselves (as Posts does) rather than
	// their ids alone.
	WithPosts bool
	// WithNewest reads the id of the newest post on the whole feed too.
	WithNewest bool
	// WithPictures, with WithPosts, reads what is known of the posts'
	// pictures too (Pictures), in the same statement.
	WithPictures bool

	// IDs are the page's post ids, newest first; Posts the posts, when
	// WithPosts; Newest the newest id, when WithNewest (0: empty feed).
	IDs    []int64
	Posts  []Post
	Newest int64
	// Pictures are the posts' pictures by filename (WithPictures); a file
	// without a row in table pictures is left out.
	Pictures map[string]Picture
}

func (l *FeedLoad) sql(d dialect, p *params) string {
	_, args, ok, err := feedArgs("", l.Page)
	if err != nil || !ok {
		// A page beyond any feed is empty; a bad one the caller refuses
		// before reading (parsePageQuery, Feed).
		return "SELECT NULL"
	}
	if d.name() == "postgres" {
		return pgFeedCall(p, args[1], args[2], args[3], l.WithPosts, l.WithPictures, l.WithNewest)
	}
	return feedSQL(d, p.add(args[1]), p.add(args[2]), p.add(args[3]), l.WithPosts, l.WithPictures, l.WithNewest)
}

// feedSQL is FeedLoad's expression, the page given by the placeholders
// of its bound (postid <= lte), size and offset. On PostgreSQL it is the
// body of function insta485_feed (postgres_functions.go).
func feedSQL(d dialect, lte, size, offset string, posts, pictures, newest bool) string {
	page := "SELECT postid FROM feed WHERE username = $1 AND postid <= " + lte +
		" ORDER BY postid DESC LIMIT " + size + " OFFSET " + offset
	fields := []string{}
	if posts {
		fields = append(fields, "'posts', "+d.jsonSub(postsJSON(d, "("+page+") x JOIN posts p ON p.postid = x.postid", "", pictures)))
	} else {
		fields = append(fields, "'ids', "+d.jsonSub("SELECT "+d.jsonArray("x.postid", "x.postid DESC")+" FROM ("+page+") x"))
	}
	if newest {
		fields = append(fields, "'newest', COALESCE((SELECT postid FROM feed WHERE username = $1 ORDER BY postid DESC LIMIT 1), 0)")
	}
	return "SELECT " + d.jsonObject(fields...)
}

func (l *FeedLoad) decode(data []byte) error {
	// One pass: the posts decoded where they stand, not kept as raw JSON
	// and decoded again (a third less of `/`'s decoding).
	var in struct {
		IDs    []int64    `json:"ids"`
		Posts  []postJSON `json:"posts"`
		Newest int64      `json:"newest"`
	}
	l.IDs, l.Posts, l.Newest, l.Pictures = nil, nil, 0, nil
	if err := unmarshal(data, &in); err != nil {
		return err
	}
	l.Newest = in.Newest
	if !l.WithPosts {
		l.IDs = in.IDs
		return nil
	}
	if l.WithPictures {
		l.Pictures = map[string]Picture{}
	}
	posts := convertPosts(in.Posts, l.Pictures)
	l.Posts = posts
	for _, p := range posts {
		l.IDs = append(l.IDs, p.PostID)
	}
	return nil
}

// PostLoad reads one post as the viewer sees it.
type PostLoad struct {
	PostID int64
	// WithPictures reads what is known of the post's picture too.
	WithPictures bool

	Found bool
	Post  Post
	// Pictures holds the post's picture by filename (WithPictures), when
	// table pictures has its row.
	Pictures map[string]Picture
}

func (l *PostLoad) sql(d dialect, p *params) string {
	if d.name() == "postgres" {
		return pgPostCall(p, l.PostID, l.WithPictures)
	}
	return postSQL(d, p.add(l.PostID), l.WithPictures)
}

// postSQL is PostLoad's expression for the post whose id is placeholder
// id; on PostgreSQL, the body of function insta485_post.
func postSQL(d dialect, id string, pictures bool) string {
	return postsJSON(d, "posts p", "WHERE p.postid = "+id, pictures)
}

func (l *PostLoad) decode(data []byte) error {
	l.Pictures = nil
	if l.WithPictures {
		l.Pictures = map[string]Picture{}
	}
	posts, err := decodePosts(data, l.Pictures)
	l.Found, l.Post = len(posts) > 0, Post{}
	if l.Found {
		l.Post = posts[0]
	}
	return err
}

// postsLoad reads the posts with the given ids, newest first.
type postsLoad struct {
	ids   []int64
	posts []Post
}

func (l *postsLoad) sql(d dialect, p *params) string {
	in := make([]string, len(l.ids))
	for i, id := range l.ids {
		in[i] = p.add(id)
	}
	return postsJSON(d, "posts p", "WHERE p.postid IN ("+strings.Join(in, ", ")+")", false)
}

func (l *postsLoad) decode(data []byte) (err error) {
	l.posts, err = decodePosts(data, nil)
	return err
}

// ProfileLoad reads a user's page: the user, their counts as the viewer
// sees them, and their posts, newest first.
type ProfileLoad struct {
	Username string
	// Before, when set, reads only the posts older than post Before;
	// Limit, when set, reads at most Limit posts (and whether there are
	// more). WithPictures reads what is known of their pictures too.
	Before       int64
	Limit        int
	WithPictures bool

	Found   bool
	Profile Profile
	Posts   []PostThumb
	// More says older posts remain beyond Limit; Pictures are the posts'
	// pictures by filename (WithPictures), those with a row in pictures.
	More     bool
	Pictures map[string]Picture
}

func (l *ProfileLoad) sql(d dialect, p *params) string {
	return "SELECT " + d.jsonObject("'u', t.username", "'n', t.fullname", "'e', t.email", "'f', t.filename", "'c', "+d.epoch("t.created"),
		"'p', (SELECT count(*) FROM posts WHERE owner = t.username)",
		"'fr', (SELECT count(*) FROM following WHERE followee = t.username)",
		"'fg', (SELECT count(*) FROM following WHERE follower = t.username)",
		"'lf', (SELECT count(*) FROM following WHERE follower = $1 AND followee = t.username)",
		"'ps', "+d.jsonSub(l.thumbsSQL(d, p)),
	) + " FROM users t WHERE t.username = " + p.add(l.Username)
}

// thumbsSQL is the query of the user's posts, newest first: all of them,
// or (Before, Limit) one page and one more post, which says there are
// more. The page is picked by the user's name, not the outer row's, so
// the subquery in FROM stands alone on both engines.
func (l *ProfileLoad) thumbsSQL(d dialect, p *params) string {
	thumb := []string{"'id', x.postid", "'f', x.filename"}
	if l.Limit <= 0 && l.Before <= 0 && !l.WithPictures {
		return "SELECT " + d.jsonArray(d.jsonObject(thumb...), "x.postid DESC") + " FROM posts x WHERE x.owner = t.username"
	}
	page := "SELECT postid, filename FROM posts WHERE owner = " + p.add(l.Username)
	if l.Before > 0 {
		page += " AND postid < " + p.add(l.Before)
	}
	page += " ORDER BY postid DESC"
	if l.Limit > 0 {
		page += " LIMIT " + p.add(l.Limit+1)
	}
	from := " FROM (" + page + ") x"
	if l.WithPictures {
		thumb = append(thumb, "'w', pic.width", "'h', pic.height", "'pc', pic.color")
		from += " LEFT JOIN pictures pic ON pic.filename = x.filename"
	}
	return "SELECT " + d.jsonArray(d.jsonObject(thumb...), "x.postid DESC") + from
}

func (l *ProfileLoad) decode(data []byte) error {
	var in struct {
		Username  string `json:"u"`
		Fullname  string `json:"n"`
		Email     string `json:"e"`
		Filename  string `json:"f"`
		Created   int64  `json:"c"`
		Posts     int    `json:"p"`
		Followers int    `json:"fr"`
		Following int    `json:"fg"`
		Follows   int    `json:"lf"`
		Thumbs    []struct {
			ID       int64  `json:"id"`
			Filename string `json:"f"`
			pictureJSON
		} `json:"ps"`
	}
	l.Found, l.Profile, l.Posts, l.More, l.Pictures = data != nil, Profile{}, nil, false, nil
	if l.WithPictures {
		l.Pictures = map[string]Picture{}
	}
	if err := unmarshal(data, &in); err != nil || !l.Found {
		return err
	}
	l.Profile = Profile{
		User:  User{Username: in.Username, Fullname: in.Fullname, Email: in.Email, Filename: in.Filename, Created: time.Unix(in.Created, 0).UTC()},
		Posts: in.Posts, Followers: in.Followers, Following: in.Following, LognameFollows: in.Follows > 0,
	}
	if l.Limit > 0 && len(in.Thumbs) > l.Limit {
		in.Thumbs, l.More = in.Thumbs[:l.Limit], true
	}
	for _, t := range in.Thumbs {
		l.Posts = append(l.Posts, PostThumb{PostID: t.ID, Filename: t.Filename})
		addPicture(l.Pictures, t.Filename, t.pictureJSON)
	}
	return nil
}

// Relations a RelationsLoad lists.
const (
	RelFollowers = "followers" // who follows Username
	RelFollowing = "following" // whom Username follows
	RelExplore   = "explore"   // whom the viewer does not follow yet
)

// RelationsLoad lists users related to Username (or, for RelExplore, to
// the viewer), by name, with whether the viewer follows each.
type RelationsLoad struct {
	Kind     string
	Username string

	// Found is false when Username does not exist (always true for
	// RelExplore).
	Found  bool
	People []Relation
}

func (l *RelationsLoad) sql(d dialect, p *params) string {
	follows := func(name string) string {
		return "(SELECT count(*) FROM following y WHERE y.follower = $1 AND y.followee = " + name + ")"
	}
	switch l.Kind {
	case RelExplore:
		person := d.jsonObject("'u', x.username", "'f', x.filename", "'lf', 0")
		return "SELECT " + d.jsonObject("'r', "+d.jsonSub("SELECT "+d.jsonArray(person, "x.username")+
			" FROM users x WHERE x.username <> $1 AND NOT EXISTS (SELECT 1 FROM following f WHERE f.follower = $1 AND f.followee = x.username)"))
	case RelFollowers, RelFollowing:
		them, us := "f.follower", "f.followee"
		if l.Kind == RelFollowing {
			them, us = us, them
		}
		// The picture is a lookup by key per person, so the list costs
		// what its length does, never a pass over users.
		person := d.jsonObject("'u', "+them, "'f', (SELECT x.filename FROM users x WHERE x.username = "+them+")", "'lf', "+follows(them))
		return "SELECT " + d.jsonObject("'r', "+d.jsonSub("SELECT "+d.jsonArray(person, them)+
			" FROM following f WHERE "+us+" = t.username")) +
			" FROM users t WHERE t.username = " + p.add(l.Username)
	}
	panic("storage: unknown relation " + l.Kind)
}

func (l *RelationsLoad) decode(data []byte) error {
	var in struct {
		R []struct {
			Username string `json:"u"`
			Filename string `json:"f"`
			Follows  int    `json:"lf"`
		} `json:"r"`
	}
	l.Found, l.People = data != nil, nil
	if err := unmarshal(data, &in); err != nil {
		return err
	}
	for _, r := range in.R {
		l.People = append(l.People, Relation{Username: r.Username, Filename: r.Filename, LognameFollows: r.Follows > 0})
	}
	return nil
}

// feedArgs checks page and returns Feed's query arguments for logname; ok
// is false when the page lies beyond any feed (its offset overflows).
func feedArgs(logname string, page FeedPage) (query string, args []any, ok bool, err error) {
	if page.Size < 1 || page.Page < 0 || page.PostIDLTE < 0 {
		return "", nil, false, fmt.Errorf("%w: feed page %+v", ErrInvalid, page)
	}
	size, pageNo := int64(page.Size), int64(page.Page)
	if pageNo > 0 && size > (math.MaxInt64-size)/pageNo {
		return "", nil, false, nil
	}
	lte := page.PostIDLTE
	if lte == 0 {
		lte = math.MaxInt64
	}
	return feedPageQuery, []any{logname, lte, size, pageNo * size}, true, nil
}

// FailuresLoad reads the count of recent wrong passwords for an account
// name (see LoginFailures), so that a right password can clear it without
// a statement of its own when there is nothing to clear.
type FailuresLoad struct {
	Name string

	Count int
}

func (l *FailuresLoad) sql(_ dialect, p *params) string {
	return "SELECT failures FROM login_failures WHERE name = " + p.add(l.Name)
}

func (l *FailuresLoad) decode(data []byte) error {
	l.Count = 0
	return unmarshal(data, &l.Count)
}
