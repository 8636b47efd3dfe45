-- What a page needs to lay a picture out before its bytes arrive: its size
-- in pixels and a placeholder colour (the picture's average, "#rrggbb").
-- Written when a picture is processed (upload, sample data, `insta485
-- uploads reprocess` for older ones); a picture without a row is shown
-- without them. Kept apart from the classic five tables, whose columns
-- clients rely on. A row goes with the last users or posts row naming its
-- file (the filename columns are indexed).
CREATE TABLE pictures (
  filename VARCHAR(64) NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  color VARCHAR(7) NOT NULL,
  CONSTRAINT pictures_pkey PRIMARY KEY (filename),
  CONSTRAINT pictures_width_check CHECK (width > 0),
  CONSTRAINT pictures_height_check CHECK (height > 0)
);

CREATE FUNCTION pictures_file_unused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM pictures WHERE filename = OLD.filename
    AND NOT EXISTS (SELECT 1 FROM posts WHERE filename = OLD.filename)
    AND NOT EXISTS (SELECT 1 FROM users WHERE filename = OLD.filename);
  RETURN NULL;
END $$;

CREATE TRIGGER pictures_post_delete AFTER DELETE ON posts FOR EACH ROW EXECUTE FUNCTION pictures_file_unused();
CREATE TRIGGER pictures_user_delete AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION pictures_file_unused();
CREATE TRIGGER pictures_user_photo AFTER UPDATE OF filename ON users
  FOR EACH ROW WHEN (OLD.filename IS DISTINCT FROM NEW.filename) EXECUTE FUNCTION pictures_file_unused();
