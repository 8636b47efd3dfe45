// A clock the test can move forward, installed before any script of the
// page runs. Date follows the real clock plus an offset, and timers of 30
// seconds or more (the feed's once-a-minute refresh) fire by that clock:
// window.__clock.advance(ms) moves it and runs the timers that fall due at
// once. Shorter timers stay real, so nothing else on the page (or the
// test's own polling) is disturbed.
(() => {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const real = { setTimeout, clearTimeout, setInterval, clearInterval };
  const LONG = 30000;
  let offset = 0;
  const now = () => realNow() + offset;

  function FakeDate(...args) {
    if (!new.target) return new RealDate(now()).toString();
    return args.length ? new RealDate(...args) : new RealDate(now());
  }
  FakeDate.prototype = RealDate.prototype;
  FakeDate.now = now;
  FakeDate.parse = RealDate.parse;
  FakeDate.UTC = RealDate.UTC;
  globalThis.Date = FakeDate;

  const timers = new Map();
  let nextID = 1e9; // far above the ids the real timers hand out

  const fire = () => {
    for (const [id, tm] of [...timers]) {
      if (!timers.has(id) || tm.due > now()) continue;
      if (tm.every) tm.due += tm.every * Math.max(1, Math.floor((now() - tm.due) / tm.every) + 1);
      else timers.delete(id);
      tm.fn(...tm.args);
    }
  };
  const schedule = (every) => (fn, delay = 0, ...args) => {
    if (typeof fn !== 'function' || delay < LONG) {
      return (every ? real.setInterval : real.setTimeout).call(globalThis, fn, delay, ...args);
    }
    const id = nextID++;
    timers.set(id, { fn, args, due: now() + delay, every: every ? delay : 0 });
    return id;
  };
  const cancel = (realClear) => (id) => {
    if (!timers.delete(id)) realClear.call(globalThis, id);
  };
  globalThis.setTimeout = schedule(false);
  globalThis.setInterval = schedule(true);
  globalThis.clearTimeout = cancel(real.clearTimeout);
  globalThis.clearInterval = cancel(real.clearInterval);
  // Real time passing still fires the long timers, late by at most a second.
  real.setInterval.call(globalThis, fire, 1000);

  globalThis.__clock = {
    advance(ms) {
      offset += ms;
      fire();
      return timers.size;
    },
  };
})();
