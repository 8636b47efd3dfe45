-- insta485 schema, SQLite dialect. AUTOINCREMENT keeps ids from ever being
-- reused; CHECKs give SQLite the same length limits PostgreSQL's VARCHAR has.
CREATE TABLE users (
  username VARCHAR(20) NOT NULL PRIMARY KEY CHECK (length(username) BETWEEN 1 AND 20),
  fullname VARCHAR(40) NOT NULL CHECK (length(fullname) <= 40),
  email VARCHAR(40) NOT NULL CHECK (length(email) <= 40),
  filename VARCHAR(64) NOT NULL CHECK (length(filename) <= 64),
  password VARCHAR(256) NOT NULL CHECK (length(password) <= 256),
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX users_filename ON users (filename);

CREATE TABLE posts (
  postid INTEGER PRIMARY KEY AUTOINCREMENT,
  filename VARCHAR(64) NOT NULL CHECK (length(filename) <= 64),
  owner VARCHAR(20) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
-- The feed and the user page read one owner's posts newest first.
CREATE INDEX posts_owner_postid ON posts (owner, postid);
-- Deletes check whether an image file is still used before removing it.
CREATE INDEX posts_filename ON posts (filename);

CREATE TABLE following (
  follower VARCHAR(20) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  followee VARCHAR(20) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (follower, followee)
);
CREATE INDEX following_followee ON following (followee, follower);

CREATE TABLE comments (
  commentid INTEGER PRIMARY KEY AUTOINCREMENT,
  owner VARCHAR(20) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  postid INTEGER NOT NULL REFERENCES posts (postid) ON DELETE CASCADE,
  text VARCHAR(1024) NOT NULL CHECK (length(text) <= 1024),
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX comments_postid ON comments (postid, commentid);
CREATE INDEX comments_owner ON comments (owner);

CREATE TABLE likes (
  likeid INTEGER PRIMARY KEY AUTOINCREMENT,
  owner VARCHAR(20) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  postid INTEGER NOT NULL REFERENCES posts (postid) ON DELETE CASCADE,
  created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
-- One like per (owner, postid); leading with postid also serves like counts.
CREATE UNIQUE INDEX likes_postid_owner ON likes (postid, owner);
CREATE INDEX likes_owner ON likes (owner);
