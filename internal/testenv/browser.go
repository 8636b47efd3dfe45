package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/insta485/insta485/internal/chromium"
)

// Browser is one headless Chromium shared by several tests; each test works
// in its own tab and browser context (see NewTab), so cookies and storage
// never leak from one test to the next.
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// NewBrowser starts Chromium for the tests of t, closed when t ends. Without
// a Chromium the test is skipped, except under CI (CI set), where that fails.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path, err := chromium.Find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests need Chromium under CI: %v", err)
		}
		t.Skipf("skipping browser test: %v", err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromium.Options(path, t.TempDir()), chromedp.WindowSize(1280, 900))...)
	ctx, cancel := chromedp.NewContext(alloc)
	// The first Do starts the browser; its lifetime is bound to ctx, which
	// has no deadline.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	b := &Browser{ctx: ctx, cancel: func() { cancel(); cancelAlloc() }}
	t.Cleanup(b.cancel)
	return b
}

// Tab is one page of a Browser in a fresh browser context, recording what
// it writes to the console.
type Tab struct {
	// Ctx runs chromedp actions in this tab.
	Ctx context.Context

	mu      sync.Mutex
	console []ConsoleEntry
}

// ConsoleEntry is one message of a page's console: a console API call, an
// uncaught exception or unhandled rejection, or an entry of the browser's
// own log (failed resource loads, CSP violations, deprecations…).
type ConsoleEntry struct {
	Level  string // "log", "info", "warning", "error", "exception", …
	Source string // for browser log entries: "network", "security", …
	Text   string
	URL    string
}

func (e ConsoleEntry) String() string {
	s := e.Level
	if e.Source != "" {
		s += " (" + e.Source + ")"
	}
	s += ": " + e.Text
	if e.URL != "" {
		s += " [" + e.URL + "]"
	}
	return s
}

// Serious reports whether the entry is one a user would see as a problem:
// an error, a warning or an exception.
func (e ConsoleEntry) Serious() bool {
	switch e.Level {
	case "error", "warning", "exception", "assert":
		return true
	}
	return false
}

// NewTab opens a tab in a new browser context of b, closed when t ends.
// Every action on it is bounded by timeout, so that a page that never gets
// where a test waits for fails the test instead of hanging it.
func (b *Browser) NewTab(t testing.TB, timeout time.Duration) *Tab {
	t.Helper()
	tab := &Tab{}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tab.record))
	// Open the tab (the first Do) before the timeout applies, as chromedp
	// binds the tab's lifetime to the context of the first Do.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open tab: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { tcancel(); cancel() })
	tab.Ctx = tctx
	return tab
}

// record runs on the tab's event loop, in the order Chromium sent the
// events; it must be quick and must not call the browser.
func (tab *Tab) record(ev any) {
	var e ConsoleEntry
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		args := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			args = append(args, remoteText(a))
		}
		e = ConsoleEntry{Level: string(ev.Type), Text: strings.Join(args, " ")}
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			e.URL = st.CallFrames[0].URL
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		e = ConsoleEntry{Level: "exception", Text: d.Text, URL: d.URL}
		if d.Exception != nil {
			e.Text += " " + remoteText(d.Exception)
		}
	case *log.EventEntryAdded:
		en := ev.Entry
		e = ConsoleEntry{Level: string(en.Level), Source: string(en.Source), Text: en.Text, URL: en.URL}
		if e.Level == "verbose" {
			e.Level = "debug"
		}
	default:
		return
	}
	tab.mu.Lock()
	tab.console = append(tab.console, e)
	tab.mu.Unlock()
}

// remoteText renders a console argument as the DevTools console would,
// roughly: strings bare, other values as JSON or their description.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	return o.Description
}

// Console returns what the page has written to the console so far. Every
// message the page wrote before the last action on the tab returned is in
// it, since events are recorded as they arrive, ahead of later replies.
func (tab *Tab) Console() []ConsoleEntry {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]ConsoleEntry(nil), tab.console...)
}

// CheckConsole fails t for every error, warning or exception the page has
// logged, except those allow accepts (allow may be nil).
func (tab *Tab) CheckConsole(t testing.TB, allow func(ConsoleEntry) bool) {
	t.Helper()
	// A round trip first, so that everything logged up to now has arrived.
	if _, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[int]("0")); err != nil {
		t.Errorf("check console: %v", err)
	}
	for _, e := range tab.Console() {
		if e.Serious() && (allow == nil || !allow(e)) {
			t.Errorf("console %s", e)
		}
	}
}

// SetCookie sets a cookie for the site at siteURL in this tab's browser
// context, as a login would.
func (tab *Tab) SetCookie(siteURL, name, value string) error {
	_, err := chromedp.Call(tab.Ctx, network.SetCookie, network.SetCookieParams{
		Name: name, Value: value, URL: siteURL, Path: "/", HTTPOnly: new(true),
		SameSite: network.CookieSameSiteLax,
	})
	return err
}

// WaitTimeout bounds each Wait. It is generous, for a loaded machine and an
// API slowed down on purpose; a passing wait returns as soon as it can.
var WaitTimeout = 20 * time.Second

// Wait polls the JavaScript expression expr in the page until it is truthy
// and returns its value, decoded into T. It fails t, naming what (the
// condition in words), if that does not happen within WaitTimeout.
func Wait[T any](t testing.TB, tab *Tab, what, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab.Ctx, chromedp.Poll[T](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(WaitTimeout)))
	if err != nil {
		if errors.Is(err, chromedp.ErrPollingTimeout) || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out; page shows: %.600s", pageText(tab))
		}
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return v
}

// pageText is the visible text of the page, for failure messages.
func pageText(tab *Tab) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tab.Ctx), 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return strings.Join(strings.Fields(s), " ")
}

// Eval evaluates the JavaScript expression expr in the page, awaiting it if
// it is a promise, and decodes the result into T; it fails t on error.
func Eval[T any](t testing.TB, tab *Tab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
