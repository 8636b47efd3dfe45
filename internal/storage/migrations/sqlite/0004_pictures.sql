-- What a page needs to lay a picture out before its bytes arrive: its size
-- in pixels and a placeholder colour (the picture's average, "#rrggbb").
-- Written when a picture is processed (upload, sample data, `insta485
-- uploads reprocess` for older ones); a picture without a row is shown
-- without them. Kept apart from the classic five tables, whose columns
-- clients rely on. A row goes with the last users or posts row naming its
-- file (the filename columns are indexed).
CREATE TABLE pictures (
  filename VARCHAR(64) NOT NULL PRIMARY KEY,
  width INTEGER NOT NULL CHECK (width > 0),
  height INTEGER NOT NULL CHECK (height > 0),
  color VARCHAR(7) NOT NULL
);

CREATE TRIGGER pictures_post_delete AFTER DELETE ON posts BEGIN
  DELETE FROM pictures WHERE filename = OLD.filename
    AND NOT EXISTS (SELECT 1 FROM posts WHERE filename = OLD.filename)
    AND NOT EXISTS (SELECT 1 FROM users WHERE filename = OLD.filename);
END;

CREATE TRIGGER pictures_user_delete AFTER DELETE ON users BEGIN
  DELETE FROM pictures WHERE filename = OLD.filename
    AND NOT EXISTS (SELECT 1 FROM posts WHERE filename = OLD.filename)
    AND NOT EXISTS (SELECT 1 FROM users WHERE filename = OLD.filename);
END;

CREATE TRIGGER pictures_user_photo AFTER UPDATE OF filename ON users WHEN OLD.filename <> NEW.filename BEGIN
  DELETE FROM pictures WHERE filename = OLD.filename
    AND NOT EXISTS (SELECT 1 FROM posts WHERE filename = OLD.filename)
    AND NOT EXISTS (SELECT 1 FROM users WHERE filename = OLD.filename);
END;
