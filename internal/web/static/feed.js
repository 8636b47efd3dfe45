// The live feed (SPEC §6). The server renders the first page of the feed
// into #feed so that the page works without JavaScript; this module takes
// that element over and drives it from the REST API: likes, comments and
// comment deletion without reloading, humanised timestamps that stay
// current, and more posts as the reader scrolls down.

import { localTime, parseUTC, timeAgo } from './feed-time.js';

const API_POSTS = '/api/v1/posts/';
const MINUTE = 60 * 1000;

// ApiError carries a message fit to show to the reader.
class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

// api calls the REST API with the session cookie and returns the decoded
// JSON (null for 204). Failures become an ApiError rather than a rejected
// fetch or a JSON syntax error, so callers can show them as they are.
async function api(url, { method = 'GET', body } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError('Could not reach insta485. Check your connection and try again.');
  }
  if (!res.ok) {
    let reason = res.statusText;
    try {
      reason = (await res.json()).message || reason;
    } catch {
      // Not a JSON error body (a proxy's page, say): the status line will do.
    }
    if (res.status === 403) reason = 'Your session has ended. Reload the page to log in again.';
    throw new ApiError(`Sorry, that did not work: ${reason || `error ${res.status}`}.`, res.status);
  }
  return res.status === 204 ? null : res.json();
}

// h builds an element. Text goes in through text nodes only, never as HTML,
// so comments such as "I <3 chickens" show as written and cannot inject
// markup.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  el.append(...children.filter((c) => c != null && c !== false));
  return el;
}

// variants returns the srcset and sizes attributes that let the browser
// pick a smaller copy of an upload (stored beside it as <name>-w320.<ext>
// and -w640, as the server's templates list them), or nothing for a URL
// that is not an upload's. The src stays the API's URL.
function variants(url, sizes) {
  const m = /^(\/uploads\/[0-9a-f]{32,40})(\.(?:png|jpg|jpeg|gif|webp))$/.exec(url);
  if (!m) return {};
  return { srcset: `${m[1]}-w320${m[2]} 320w, ${m[1]}-w640${m[2]} 640w, ${url} 1080w`, sizes };
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// The markup below mirrors the server's (templates/partials.html, "post"),
// classes included, so the page looks the same before and after the script
// takes over; only the forms differ (buttons that call the API instead).

// Feed is the live state of #feed: the posts shown, the next page to load,
// and what is in flight.
class Feed {
  constructor(root) {
    this.root = root;
    this.next = '';
    this.loading = false;
    this.requested = new Set(); // page URLs already asked for: never load one twice
    this.shown = new Set(); // postids on the page: a post never appears twice
    // What the server's markup says of each picture it rendered: size,
    // placeholder classes and whether it loads lazily. The API has no
    // sizes (SPEC §5 fixes its JSON), so the live posts of the first page
    // take them from there; later pages are laid out once decoded.
    this.known = new Map([...root.querySelectorAll('img.post-image')].map((img) => [img.getAttribute('src'), {
      className: img.className,
      width: img.getAttribute('width'),
      height: img.getAttribute('height'),
      // Lazy only with a size to hold its place; and not when already
      // here: the copy comes from the cache, so wait for it rather than
      // flash its placeholder.
      lazy: img.loading === 'lazy' && img.hasAttribute('height') && !(img.complete && img.naturalWidth > 0),
    }]));
    this.status = h('p', { class: 'feed-status', role: 'status' });
    this.sentinel = h('div', { class: 'feed-more' }, this.status);
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadMore();
    }, { rootMargin: '0px 0px 400px 0px' });
  }

  // start replaces the server-rendered first page with the live one. Until
  // the new posts are ready (data and images) the server's stay in place,
  // so the reader sees no flash and no jump; if the API fails they stay
  // for good, and their forms still work.
  async start() {
    this.root.setAttribute('aria-busy', 'true');
    try {
      const { posts, next } = await this.fetchPage(API_POSTS);
      const articles = posts.map((p) => this.renderPost(p));
      await decoded(articles);
      this.root.replaceChildren(...(articles.length ? articles : [emptyFeed()]), this.sentinel);
      // Says the feed is live now (for styles, and for tests to wait on).
      this.root.dataset.live = '';
      this.next = next;
      if (next) this.observer.observe(this.sentinel);
      else this.sentinel.remove();
    } catch (err) {
      this.root.prepend(h('p', { class: 'feed-error', role: 'alert' }, err.message));
    } finally {
      this.root.removeAttribute('aria-busy');
    }
    // Timers are throttled in background tabs: catch up when shown again.
    setInterval(() => this.refreshTimes(), MINUTE);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.refreshTimes();
    });
  }

  // fetchPage reads one page of the feed and the details of its posts, in
  // parallel. A post deleted between the two calls is left out.
  async fetchPage(url) {
    this.requested.add(url);
    const page = await api(url);
    const details = await Promise.all(page.results.map(async ({ url: postURL }) => {
      try {
        return await api(postURL);
      } catch (err) {
        if (err.status === 404) return null;
        throw err;
      }
    }));
    return { posts: details.filter((p) => p && !this.shown.has(p.postid)), next: page.next };
  }

  // loadMore appends the next page when the end of the feed comes into
  // view, one page at a time.
  async loadMore() {
    const url = this.next;
    if (this.loading || !url || this.requested.has(url)) return;
    this.loading = true;
    this.root.setAttribute('aria-busy', 'true');
    this.status.textContent = 'Loading more posts…';
    this.status.classList.remove('feed-error');
    let failed = false;
    try {
      const { posts, next } = await this.fetchPage(url);
      const articles = posts.map((p) => this.renderPost(p));
      // Images without their size would grow after insertion and push the
      // end of the feed around under the reader: add them ready to paint.
      await decoded(articles);
      this.sentinel.before(...articles);
      this.next = next;
      this.status.textContent = '';
    } catch (err) {
      // The same page may be tried again, but only when the reader asks
      // (the button, or scrolling away and back): retrying by itself would
      // hammer a server that is already in trouble.
      failed = true;
      this.requested.delete(url);
      const retry = h('button', { type: 'button', class: 'btn btn-small' }, 'Try again');
      retry.addEventListener('click', () => this.loadMore());
      this.status.replaceChildren(err.message, ' ', retry);
      this.status.classList.add('feed-error');
    } finally {
      this.loading = false;
      this.root.removeAttribute('aria-busy');
    }
    if (failed) return;
    if (!this.next) {
      this.observer.disconnect();
      this.sentinel.remove();
      return;
    }
    // An observer only reports changes. If the end is still in view (a
    // tall window, short posts), observing afresh reports it again, and
    // the next page loads without waiting for a scroll that may not come.
    this.observer.unobserve(this.sentinel);
    this.observer.observe(this.sentinel);
  }

  refreshTimes() {
    const now = Date.now();
    for (const t of this.root.querySelectorAll('time[data-created]')) {
      t.textContent = timeAgo(new Date(t.dateTime), now);
    }
  }

  renderPost(post) {
    this.shown.add(post.postid);
    const created = parseUTC(post.created);
    const state = { likes: { ...post.likes }, liking: false };
    const error = h('p', { class: 'post-error', role: 'alert', hidden: true });
    const showError = (message) => {
      error.textContent = message;
      error.hidden = !message;
    };

    // Announced when it changes, so screen reader users hear the new count.
    const likes = h('span', { class: 'post-likes', 'aria-live': 'polite' });
    const likeButton = h('button', { type: 'button', class: 'like-button', 'data-testid': 'like-unlike-button' });
    const showLikes = () => {
      const { lognameLikesThis, numLikes } = state.likes;
      likes.textContent = plural(numLikes, 'like', 'likes');
      likeButton.textContent = lognameLikesThis ? 'unlike' : 'like';
      likeButton.setAttribute('aria-pressed', String(lognameLikesThis));
    };
    showLikes();

    // toggleLike makes exactly one API call and updates the count from what
    // we know, without fetching the post again. Clicks while a call is in
    // flight are ignored: the button stays focusable (not disabled) so a
    // keyboard user keeps their place, but it says it is busy.
    const toggleLike = async () => {
      if (state.liking) return;
      state.liking = true;
      likeButton.setAttribute('aria-busy', 'true');
      showError('');
      try {
        const { lognameLikesThis, numLikes, url } = state.likes;
        if (lognameLikesThis) {
          try {
            await api(url, { method: 'DELETE' });
          } catch (err) {
            // 404: already unliked (in another tab); the goal is reached.
            if (err.status !== 404) throw err;
          }
          state.likes = { lognameLikesThis: false, numLikes: Math.max(0, numLikes - 1), url: null };
        } else {
          const like = await api(`/api/v1/likes/?postid=${post.postid}`, { method: 'POST' });
          state.likes = { lognameLikesThis: true, numLikes: numLikes + 1, url: like.url };
        }
        showLikes();
      } catch (err) {
        showError(err.message);
      } finally {
        state.liking = false;
        likeButton.removeAttribute('aria-busy');
      }
    };
    likeButton.addEventListener('click', toggleLike);

    const known = this.known.get(post.imgUrl);
    const lazy = known?.lazy ? 'lazy' : null;
    const image = h('img', {
      class: known?.className ?? 'post-image', src: post.imgUrl, alt: `Photo posted by ${post.owner}`,
      width: known?.width, height: known?.height, loading: lazy,
      ...variants(post.imgUrl, '(max-width: 614px) 100vw, 614px'),
    });
    // Double-click likes; it never unlikes, as people expect from photo apps.
    image.addEventListener('dblclick', () => {
      if (!state.likes.lognameLikesThis) toggleLike();
    });

    const comments = h('ul', { class: 'post-comments' },
      ...post.comments.map((c) => this.renderComment(c, showError)));

    const input = h('input', {
      type: 'text', name: 'text', class: 'comment-input', autocomplete: 'off', maxlength: 1024,
      placeholder: 'Add a comment…', 'aria-label': 'Add a comment',
    });
    // One text input and no submit button: Enter submits the form
    // (implicit submission), which we take over here.
    const form = h('form', { class: 'comment-form', 'data-testid': 'comment-form' }, input);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text || input.readOnly) return;
      // Read-only while sending: no second submission, no typing that the
      // clear below would throw away; the text stays if sending fails.
      input.readOnly = true;
      showError('');
      try {
        const comment = await api(`/api/v1/comments/?postid=${post.postid}`, { method: 'POST', body: { text } });
        comments.append(this.renderComment(comment, showError));
        input.value = '';
      } catch (err) {
        showError(err.message);
      } finally {
        input.readOnly = false;
      }
    });

    const owner = h('a', { class: 'post-owner', href: post.ownerShowUrl },
      h('img', {
        class: 'avatar', src: post.ownerImgUrl, alt: `Profile photo of ${post.owner}`, width: 32, height: 32, loading: lazy,
        ...variants(post.ownerImgUrl, '32px'),
      }),
      h('span', { class: 'username' }, post.owner));
    const time = h('a', { class: 'post-time', href: post.postShowUrl, 'data-testid': 'post-time-ago' },
      created
        ? h('time', { datetime: created.toISOString(), title: localTime(created), 'data-created': '' }, timeAgo(created))
        : post.created);

    return h('article', { class: 'post', dataset: { postid: post.postid } },
      h('header', { class: 'post-header' }, owner, time),
      image,
      h('div', { class: 'post-body' },
        h('div', { class: 'post-actions' }, likeButton, likes),
        comments, form, error));
  }

  renderComment(comment, showError) {
    const li = h('li', { class: 'comment', dataset: { commentid: comment.commentid } },
      h('a', { class: 'comment-owner', href: comment.ownerShowUrl }, comment.owner), ' ',
      h('span', { class: 'comment-text', 'data-testid': 'comment-text' }, comment.text));
    if (!comment.lognameOwnsThis) return li;

    const del = h('button', {
      type: 'button', class: 'delete-comment', 'data-testid': 'delete-comment-button',
      'aria-label': `Delete your comment “${comment.text}”`,
    }, 'delete');
    let deleting = false;
    del.addEventListener('click', async () => {
      if (deleting) return;
      deleting = true;
      del.setAttribute('aria-busy', 'true');
      showError('');
      try {
        try {
          await api(comment.url, { method: 'DELETE' });
        } catch (err) {
          // 404: already deleted (in another tab); the goal is reached.
          if (err.status !== 404) throw err;
        }
        // Keep keyboard focus in the post rather than losing it to <body>.
        li.closest('article')?.querySelector('.comment-input')?.focus();
        li.remove();
      } catch (err) {
        showError(err.message);
        deleting = false;
        del.removeAttribute('aria-busy');
      }
    });
    li.append(' ', del);
    return li;
  }
}

// emptyFeed is what the server shows for a feed with no posts.
function emptyFeed() {
  return h('p', { class: 'empty card' }, 'Your feed is empty. ', h('a', { href: '/explore/' }, 'Explore'),
    ' to find people to follow, or post a picture from your profile.');
}

// decoded waits until the images in articles can be painted at once, so
// that swapping them in never shows empty boxes, and gives each its size
// in the markup. Lazy images are not waited for: they have their size and
// placeholder already, and load when the reader comes near. Failures are
// not ours to report here: a broken image still gets its alt text.
function decoded(articles) {
  return Promise.all(articles.flatMap((a) => [...a.querySelectorAll('img:not([loading="lazy"])')])
    .map((img) => img.decode().then(() => {
      if (!img.hasAttribute('width') && img.naturalWidth > 0) {
        img.width = img.naturalWidth;
        img.height = img.naturalHeight;
      }
    }, () => {})));
}

const root = document.getElementById('feed');
if (root) {
  // The feed is rebuilt from the API on every load, so a restored scroll
  // position would point into different content: a reload starts at the
  // top, with the newest posts.
  history.scrollRestoration = 'manual';
  new Feed(root).start();
}
