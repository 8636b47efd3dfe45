-- The feed, fanned out on write: one row per (reader, post) for every post
-- a user sees on their feed (their own and those of everyone they follow).
-- Reading a page is then one range of one index, however many accounts the
-- reader follows and however many posts there are. The database keeps it
-- with triggers, so rows any tool writes with plain SQL into posts,
-- following or users show in feeds at once. RebuildFeed (storage) fills it
-- from scratch with the same SELECT as below. WITHOUT ROWID: the primary key
-- is the table, one b-tree.
CREATE TABLE feed (
  username VARCHAR(20) NOT NULL,
  postid INTEGER NOT NULL,
  PRIMARY KEY (username, postid)
) WITHOUT ROWID;

CREATE TRIGGER feed_post_insert AFTER INSERT ON posts BEGIN
  INSERT OR IGNORE INTO feed (username, postid)
    SELECT follower, NEW.postid FROM following WHERE followee = NEW.owner AND follower <> NEW.owner
    UNION ALL SELECT NEW.owner, NEW.postid;
END;

CREATE TRIGGER feed_post_delete AFTER DELETE ON posts BEGIN
  DELETE FROM feed WHERE postid = OLD.postid
    AND username IN (SELECT follower FROM following WHERE followee = OLD.owner UNION ALL SELECT OLD.owner);
END;

CREATE TRIGGER feed_post_update AFTER UPDATE OF postid, owner ON posts BEGIN
  DELETE FROM feed WHERE postid = OLD.postid
    AND username IN (SELECT follower FROM following WHERE followee = OLD.owner UNION ALL SELECT OLD.owner);
  INSERT OR IGNORE INTO feed (username, postid)
    SELECT follower, NEW.postid FROM following WHERE followee = NEW.owner AND follower <> NEW.owner
    UNION ALL SELECT NEW.owner, NEW.postid;
END;

CREATE TRIGGER feed_follow_insert AFTER INSERT ON following BEGIN
  INSERT OR IGNORE INTO feed (username, postid)
    SELECT NEW.follower, postid FROM posts WHERE owner = NEW.followee;
END;

CREATE TRIGGER feed_follow_delete AFTER DELETE ON following WHEN OLD.follower <> OLD.followee BEGIN
  DELETE FROM feed WHERE username = OLD.follower
    AND postid IN (SELECT postid FROM posts WHERE owner = OLD.followee);
END;

CREATE TRIGGER feed_follow_update AFTER UPDATE OF follower, followee ON following BEGIN
  DELETE FROM feed WHERE OLD.follower <> OLD.followee AND username = OLD.follower
    AND postid IN (SELECT postid FROM posts WHERE owner = OLD.followee);
  INSERT OR IGNORE INTO feed (username, postid)
    SELECT NEW.follower, postid FROM posts WHERE owner = NEW.followee;
END;

-- Before the user goes, while their posts and follow edges still exist:
-- the cascades that follow may delete those in either order.
CREATE TRIGGER feed_user_delete BEFORE DELETE ON users BEGIN
  DELETE FROM feed WHERE username = OLD.username;
  DELETE FROM feed WHERE username IN (SELECT follower FROM following WHERE followee = OLD.username)
    AND postid IN (SELECT postid FROM posts WHERE owner = OLD.username);
END;

INSERT INTO feed (username, postid)
  SELECT f.follower, p.postid FROM following f JOIN posts p ON p.owner = f.followee WHERE f.follower <> f.followee
  UNION ALL SELECT owner, postid FROM posts;
