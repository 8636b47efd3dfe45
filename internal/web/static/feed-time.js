// Timestamps for the live feed: parse the API's UTC times and say how long
// ago they were, the way the server-rendered page does ("just now",
// "10 minutes ago").

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// parseUTC reads the API's `created` ("YYYY-MM-DD HH:MM:SS", always UTC) into
// a Date. Date.parse would read that shape as *local* time, which is off by
// the viewer's UTC offset, so the fields are taken apart by hand.
export function parseUTC(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

// Thresholds after moment.js / day.js relativeTime, so the wording matches
// what people are used to: each unit is used until the next one reads better.
const units = [
  { below: 45 * SECOND, say: () => 'just now' },
  { below: 90 * SECOND, say: () => 'a minute ago' },
  { below: 45 * MINUTE, say: (ms) => `${Math.round(ms / MINUTE)} minutes ago` },
  { below: 90 * MINUTE, say: () => 'an hour ago' },
  { below: 22 * HOUR, say: (ms) => `${Math.round(ms / HOUR)} hours ago` },
  { below: 36 * HOUR, say: () => 'a day ago' },
  { below: 26 * DAY, say: (ms) => `${Math.round(ms / DAY)} days ago` },
  { below: 45 * DAY, say: () => 'a month ago' },
  { below: 320 * DAY, say: (ms) => `${Math.round(ms / (30 * DAY))} months ago` },
  { below: 548 * DAY, say: () => 'a year ago' },
];

// timeAgo says how long before now the date was. A date slightly in the
// future (the viewer's clock runs behind the server's) reads "just now".
export function timeAgo(date, now = Date.now()) {
  const ms = Math.max(0, now - date.getTime());
  const unit = units.find((u) => ms < u.below);
  return unit ? unit.say(ms) : `${Math.round(ms / (365 * DAY))} years ago`;
}

// localTime is the full date and time in the viewer's time zone, for a
// tooltip on the humanised text.
export function localTime(date) {
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
