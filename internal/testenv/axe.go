package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeInPackage is where the axe-core npm package keeps its browser build.
const axeInPackage = "axe-core/axe.min.js"

// FindAxe returns the path of axe-core's axe.min.js: the file
// INSTA485_AXE_JS names, else the repository's own .cache/node_modules
// (what `npm install --prefix .cache axe-core@4.14.1` in the repository
// root makes, as .ci/run does).
func FindAxe() (string, error) {
	if p := os.Getenv("INSTA485_AXE_JS"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("INSTA485_AXE_JS names a missing file: %w", err)
		}
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".cache", "node_modules", axeInPackage)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no axe-core found at %s: run `npm install --prefix .cache axe-core@4.14.1` in the repository root, or set INSTA485_AXE_JS", p)
	}
	return p, nil
}

var axeSource = sync.OnceValues(func() (string, error) {
	p, err := FindAxe()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	return string(b), err
})

// AxeViolation is one rule axe-core found broken on a page, with the
// elements that break it.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // each: the element's selector and axe's summary
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n\t%s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
}

// axeRun runs axe-core on the whole document and keeps the serious and
// critical violations: the ones that stop people from using a page.
const axeRun = `axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations
  .filter((v) => v.impact === 'serious' || v.impact === 'critical')
  .map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' '))})))`

// Axe runs axe-core (FindAxe) on the page tab shows and returns its serious
// and critical violations. Without axe-core the test is skipped, except
// under CI (CI set), where that fails.
func Axe(t testing.TB, tab *Tab) []AxeViolation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("accessibility checks need axe-core under CI: %v", err)
		}
		t.Skipf("skipping accessibility check: %v", err)
	}
	// Evaluated through DevTools, which the page's Content-Security-Policy
	// (script-src 'self') does not govern; once per document.
	loaded, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		t.Fatalf("look for axe-core in the page: %v", err)
	}
	if !loaded {
		if _, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[chromedp.Void](src+"\n;undefined")); err != nil {
			t.Fatalf("load axe-core: %v", err)
		}
	}
	v, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[[]AxeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	return v
}
