package dbadmin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/insta485/insta485/internal/storage"
)

// SampleUsers are the users of SPEC §2, in order. Their passwords are stored
// in the legacy sha512 format other Insta485 databases use; they are upgraded
// to argon2id at each user's first login.
var SampleUsers = []storage.User{
	{Username: "awdeorio", Fullname: "Andrew DeOrio", Email: "awdeorio@umich.edu", Filename: "e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg",
		Password: "sha512$34e94a05cdf247db92a84bc590950336$7eaca2b4169e042120f015666115856c717343f1c75d1c1bd1bf469bd1cd439eb152ccda6a0b8703706dfbcb861b3cef9208325c31f436e8edb9563f01176c48"},
	{Username: "jflinn", Fullname: "Jason Flinn", Email: "jflinn@umich.edu", Filename: "505083b8b56c97429a728b68f31b0b2a089e5113.jpg",
		Password: "sha512$673d22398b0141c7929f987efee061e6$187dd68d62574a29b40513467cb5376849d6e7651dbd19850b853b912f44d940a42ef6bb96f4bafa82a6b40072ed980bfad377c65faa096281369210841f2b73"},
	{Username: "michjc", Fullname: "Michael Cafarella", Email: "michjc@umich.edu", Filename: "5ecde7677b83304132cb2871516ea50032ff7a4f.jpg",
		Password: "sha512$d7cde81ee4614141b68fbe8ff5fffa76$8b432b218b18554e58a949a40367a0d0e731dc8f8a46ecaa3ea0aca39169b3a97f12246d2840d6e9c32764907ed7b1951dfc16f213cb7fd4a6a96dc43f52f67b"},
	{Username: "jag", Fullname: "H.V. Jagadish", Email: "jag@umich.edu", Filename: "73ab33bd357c3fd42292487b825880958c595655.jpg",
		Password: "sha512$0b2b8d18beba4c2ba7dad0365d1dd885$130546cafab793f769a86607466fb07476b03c5de1f32f666c1e72e8b48b5e7e08494ec85ede12df72d259112bca3d5783983937361fe0aa2c341ae7bd0c2da4"},
}

// SamplePosts are the posts of SPEC §2; post i+1 is SamplePosts[i].
var SamplePosts = []storage.PostThumb{
	{PostID: 1, Filename: "122a7d27ca1d7420a1072f695d9290fad4501a41.jpg"},
	{PostID: 2, Filename: "ad7790405c539894d25ab8dcf0b79eed3341e109.jpg"},
	{PostID: 3, Filename: "9887e06812ef434d291e4936417d125cd594b38a.jpg"},
	{PostID: 4, Filename: "2ec7cf8ae158b3b1f40065abfb33e81143707842.jpg"},
}

var samplePostOwners = []string{"awdeorio", "jflinn", "awdeorio", "jag"}

// SampleFollowing are the follow edges of SPEC §2 as (follower, followee).
var SampleFollowing = [][2]string{
	{"awdeorio", "jflinn"}, {"awdeorio", "michjc"}, {"jflinn", "awdeorio"}, {"jflinn", "michjc"},
	{"michjc", "awdeorio"}, {"michjc", "jag"}, {"jag", "michjc"},
}

// SampleComments are the comments of SPEC §2; comment i+1 is SampleComments[i].
var SampleComments = []storage.Comment{
	{CommentID: 1, PostID: 3, Owner: "awdeorio", Text: "#chickensofinstagram"},
	{CommentID: 2, PostID: 3, Owner: "jflinn", Text: "I <3 chickens"},
	{CommentID: 3, PostID: 3, Owner: "michjc", Text: "Cute overload!"},
	{CommentID: 4, PostID: 2, Owner: "awdeorio", Text: "Sick #crossword"},
	{CommentID: 5, PostID: 1, Owner: "jflinn", Text: "Walking the plank #chickensofinstagram"},
	{CommentID: 6, PostID: 1, Owner: "awdeorio", Text: "This was after trying to teach them to do a #crossword"},
	{CommentID: 7, PostID: 4, Owner: "jag", Text: "Saw this on the diag yesterday!"},
}

// SampleLikes are the likes of SPEC §2; like i+1 is SampleLikes[i].
var SampleLikes = []storage.Like{
	{LikeID: 1, Owner: "awdeorio", PostID: 1}, {LikeID: 2, Owner: "michjc", PostID: 1}, {LikeID: 3, Owner: "jflinn", PostID: 1},
	{LikeID: 4, Owner: "awdeorio", PostID: 2}, {LikeID: 5, Owner: "michjc", PostID: 2}, {LikeID: 6, Owner: "awdeorio", PostID: 3},
}

// SampleImages are the image files the sample data refers to: the users'
// profile pictures and the posts' pictures.
func SampleImages() (profiles, posts []string) {
	for _, u := range SampleUsers {
		profiles = append(profiles, u.Filename)
	}
	for _, p := range SamplePosts {
		posts = append(posts, p.Filename)
	}
	return profiles, posts
}

// FilenamesInUse returns which of names a user's or a post's row names.
func FilenamesInUse(ctx context.Context, s *storage.Store, names []string) (map[string]bool, error) {
	used := map[string]bool{}
	for _, n := range names {
		var one int
		err := s.Reader().QueryRowContext(ctx, `SELECT 1 WHERE EXISTS (SELECT 1 FROM users WHERE filename = $1)
			OR EXISTS (SELECT 1 FROM posts WHERE filename = $1)`, n).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		used[n] = true
	}
	return used, nil
}

// LoadSample inserts the sample data into an empty database in one
// transaction. Rows are inserted in id order and let the database assign the
// ids, so the sequences continue after them.
func LoadSample(ctx context.Context, s *storage.Store) error {
	return s.Transact(ctx, func(tx *sql.Tx) error { return loadSample(ctx, tx) })
}

func loadSample(ctx context.Context, tx *sql.Tx) error {
	for _, u := range SampleUsers {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO users (username, fullname, email, filename, password) VALUES ($1, $2, $3, $4, $5)",
			u.Username, u.Fullname, u.Email, u.Filename, u.Password); err != nil {
			return fmt.Errorf("sample user %s: %w", u.Username, err)
		}
	}
	for i, p := range SamplePosts {
		if _, err := tx.ExecContext(ctx, "INSERT INTO posts (filename, owner) VALUES ($1, $2)", p.Filename, samplePostOwners[i]); err != nil {
			return fmt.Errorf("sample post %d: %w", p.PostID, err)
		}
	}
	for _, f := range SampleFollowing {
		if _, err := tx.ExecContext(ctx, "INSERT INTO following (follower, followee) VALUES ($1, $2)", f[0], f[1]); err != nil {
			return fmt.Errorf("sample follow: %w", err)
		}
	}
	for _, c := range SampleComments {
		if _, err := tx.ExecContext(ctx, "INSERT INTO comments (owner, postid, text) VALUES ($1, $2, $3)", c.Owner, c.PostID, c.Text); err != nil {
			return fmt.Errorf("sample comment %d: %w", c.CommentID, err)
		}
	}
	for _, l := range SampleLikes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO likes (owner, postid) VALUES ($1, $2)", l.Owner, l.PostID); err != nil {
			return fmt.Errorf("sample like %d: %w", l.LikeID, err)
		}
	}
	return nil
}
