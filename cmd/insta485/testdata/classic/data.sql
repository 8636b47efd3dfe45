-- Rows for the classic fixture. Every password is "password". The newest
-- post (5) and a comment and a like are deleted again, so SQLite's
-- AUTOINCREMENT counters are past the highest ids left.
PRAGMA foreign_keys = ON;

INSERT INTO users(username, fullname, email, filename, password, created) VALUES
  ('awdeorio', 'Andrew DeOrio', 'awdeorio@umich.edu', 'e1a7c5c32973862ee15173b0259e3efdb6a391af.jpg',
   'sha512$a45ffdcc71884853a2cba9e6bc55e812$c739cef1aec45c6e345c8463136dc1ae2fe19963106cf748baf87c7102937aa96928aa1db7fe1d8da6bd343428ff3167f4500c8a61095fb771957b4367868fb8',
   '2017-06-20 15:47:02'),
  ('jflinn', 'Jason Flinn', 'jflinn@umich.edu', '505083b8b56c97429a728b68f31b0b2a089e5113.jpg',
   'sha512$a45ffdcc71884853a2cba9e6bc55e812$c739cef1aec45c6e345c8463136dc1ae2fe19963106cf748baf87c7102937aa96928aa1db7fe1d8da6bd343428ff3167f4500c8a61095fb771957b4367868fb8',
   '2017-06-20 15:47:03'),
  ('michjc', 'Michael Cafarella', 'michjc@umich.edu', '5ecde7677b83304132cb2871516ea50032ff7a4f.jpg',
   'sha512$a45ffdcc71884853a2cba9e6bc55e812$c739cef1aec45c6e345c8463136dc1ae2fe19963106cf748baf87c7102937aa96928aa1db7fe1d8da6bd343428ff3167f4500c8a61095fb771957b4367868fb8',
   '2017-06-20 15:47:04'),
  ('jag', 'H.V. Jagadish', 'jag@umich.edu', '73ab33bd357c3fd42292487b825880958c595655.jpg',
   'sha512$a45ffdcc71884853a2cba9e6bc55e812$c739cef1aec45c6e345c8463136dc1ae2fe19963106cf748baf87c7102937aa96928aa1db7fe1d8da6bd343428ff3167f4500c8a61095fb771957b4367868fb8',
   '2017-06-20 15:47:05');

INSERT INTO posts(filename, owner, created) VALUES
  ('122a7d27ca1d7420a1072f695d9290fad4501a41.jpg', 'awdeorio', '2017-09-28 04:33:28'),
  ('ad7790405c539894d25ab8dcf0b79eed3341e109.jpg', 'jflinn', '2017-09-28 04:34:28'),
  ('9887e06812ef434d291e4936417d125cd594b38a.jpg', 'awdeorio', '2017-09-28 04:35:28'),
  ('2ec7cf8ae158b3b1f40065abfb33e81143707842.jpg', 'jag', '2017-09-28 04:36:28'),
  ('c5c4e1ad6b2c2ba8bd0d6a7e56a9e0e42e1d4c8c.jpg', 'michjc', '2017-09-28 04:37:28');

INSERT INTO following(username1, username2, created) VALUES
  ('awdeorio', 'jflinn', '2017-07-01 10:00:00'),
  ('awdeorio', 'michjc', '2017-07-01 10:00:01'),
  ('jflinn', 'awdeorio', '2017-07-01 10:00:02'),
  ('jflinn', 'michjc', '2017-07-01 10:00:03'),
  ('michjc', 'awdeorio', '2017-07-01 10:00:04'),
  ('michjc', 'jag', '2017-07-01 10:00:05'),
  ('jag', 'michjc', '2017-07-01 10:00:06');

INSERT INTO comments(owner, postid, text, created) VALUES
  ('awdeorio', 3, '#chickensofinstagram', '2017-09-28 05:00:00'),
  ('jflinn', 3, 'I <3 chickens', '2017-09-28 05:00:01'),
  ('michjc', 3, 'Cute overload!', '2017-09-28 05:00:02'),
  ('awdeorio', 2, 'Sick #crossword', '2017-09-28 05:00:03'),
  ('jflinn', 1, 'Walking the plank #chickensofinstagram', '2017-09-28 05:00:04'),
  ('awdeorio', 1, 'This was after trying to teach them to do a #crossword', '2017-09-28 05:00:05'),
  ('jag', 4, 'Saw this on the diag yesterday!', '2017-09-28 05:00:06'),
  ('michjc', 5, 'About to be deleted with its post', '2017-09-28 05:00:07'),
  ('jag', 4, 'A comment deleted on its own', '2017-09-28 05:00:08');

INSERT INTO likes(owner, postid, created) VALUES
  ('awdeorio', 1, '2017-09-28 06:00:00'),
  ('michjc', 1, '2017-09-28 06:00:01'),
  ('jflinn', 1, '2017-09-28 06:00:02'),
  ('awdeorio', 2, '2017-09-28 06:00:03'),
  ('michjc', 2, '2017-09-28 06:00:04'),
  ('awdeorio', 3, '2017-09-28 06:00:05'),
  ('jag', 5, '2017-09-28 06:00:06');

DELETE FROM posts WHERE postid = 5;
DELETE FROM comments WHERE commentid = 9;
