-- The feed, fanned out on write: one row per (reader, post) for every post
-- a user sees on their feed (their own and those of everyone they follow).
-- Reading a page is then one range of one index, however many accounts the
-- reader follows and however many posts there are. The database keeps it
-- with triggers, so rows any tool writes with plain SQL into posts,
-- following or users show in feeds at once. RebuildFeed (storage) fills it
-- from scratch with the same SELECT as below.
CREATE TABLE feed (
  username VARCHAR(20) NOT NULL,
  postid BIGINT NOT NULL,
  CONSTRAINT feed_pkey PRIMARY KEY (username, postid)
);

-- Each function first locks the row of the user whose posts it fans out.
-- Without it, a post and a new follow of its owner committed at the same
-- time would each miss the other (READ COMMITTED sees neither's rows) and
-- the follower's feed would lack the post; likewise for a delete racing a
-- follow. Plain reads never wait for this lock. (SQLite has one writer.)
CREATE FUNCTION feed_post_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM users WHERE username = NEW.owner FOR NO KEY UPDATE;
  INSERT INTO feed (username, postid)
    SELECT follower, NEW.postid FROM following WHERE followee = NEW.owner AND follower <> NEW.owner
    UNION ALL SELECT NEW.owner, NEW.postid
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE FUNCTION feed_post_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM users WHERE username = OLD.owner FOR NO KEY UPDATE;
  DELETE FROM feed WHERE postid = OLD.postid
    AND username IN (SELECT follower FROM following WHERE followee = OLD.owner UNION ALL SELECT OLD.owner);
  RETURN NULL;
END $$;

CREATE FUNCTION feed_follow_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM users WHERE username = NEW.followee FOR NO KEY UPDATE;
  INSERT INTO feed (username, postid)
    SELECT NEW.follower, postid FROM posts WHERE owner = NEW.followee
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE FUNCTION feed_follow_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM users WHERE username = OLD.followee FOR NO KEY UPDATE;
  IF OLD.follower <> OLD.followee THEN
    DELETE FROM feed WHERE username = OLD.follower
      AND postid IN (SELECT postid FROM posts WHERE owner = OLD.followee);
  END IF;
  RETURN NULL;
END $$;

-- Before the user goes, while their posts and follow edges still exist:
-- the cascades that follow may delete those in either order.
CREATE FUNCTION feed_user_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r RECORD;
BEGIN
  DELETE FROM feed WHERE username = OLD.username;
  -- Follower by follower, each one range of feed's key: as one join,
  -- PostgreSQL would rather hash the whole of feed.
  FOR r IN SELECT follower FROM following WHERE followee = OLD.username AND follower <> OLD.username LOOP
    DELETE FROM feed WHERE username = r.follower
      AND postid IN (SELECT postid FROM posts WHERE owner = OLD.username);
  END LOOP;
  RETURN OLD;
END $$;

-- Triggers on one event fire in name order: the _a_ (remove) before the _b_ (add).
CREATE TRIGGER feed_post_insert AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION feed_post_added();
CREATE TRIGGER feed_post_delete AFTER DELETE ON posts FOR EACH ROW EXECUTE FUNCTION feed_post_removed();
CREATE TRIGGER feed_post_update_a_old AFTER UPDATE OF postid, owner ON posts FOR EACH ROW EXECUTE FUNCTION feed_post_removed();
CREATE TRIGGER feed_post_update_b_new AFTER UPDATE OF postid, owner ON posts FOR EACH ROW EXECUTE FUNCTION feed_post_added();
CREATE TRIGGER feed_follow_insert AFTER INSERT ON following FOR EACH ROW EXECUTE FUNCTION feed_follow_added();
CREATE TRIGGER feed_follow_delete AFTER DELETE ON following FOR EACH ROW EXECUTE FUNCTION feed_follow_removed();
CREATE TRIGGER feed_follow_update_a_old AFTER UPDATE OF follower, followee ON following FOR EACH ROW EXECUTE FUNCTION feed_follow_removed();
CREATE TRIGGER feed_follow_update_b_new AFTER UPDATE OF follower, followee ON following FOR EACH ROW EXECUTE FUNCTION feed_follow_added();
CREATE TRIGGER feed_user_delete BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION feed_user_removed();

INSERT INTO feed (username, postid)
  SELECT f.follower, p.postid FROM following f JOIN posts p ON p.owner = f.followee WHERE f.follower <> f.followee
  UNION ALL SELECT owner, postid FROM posts;
