package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// vnuJarInPackage is where the vnu-jar npm package keeps the checker.
const vnuJarInPackage = "vnu-jar/build/dist/vnu.jar"

// HTMLPage is one document for ValidateHTML; Name says which in messages
// (a URL path, say).
type HTMLPage struct {
	Name string
	HTML []byte
}

// FindVNU returns the path of the Nu HTML Checker's vnu.jar: the file
// INSTA485_VNU_JAR names, else the one of a global `npm install -g
// vnu-jar`, else the repository's own .cache/node_modules (what
// `npm install --prefix .cache vnu-jar` in the repository root makes).
func FindVNU() (string, error) {
	if p := os.Getenv("INSTA485_VNU_JAR"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("INSTA485_VNU_JAR names a missing file: %w", err)
		}
		return p, nil
	}
	var tried []string
	if out, err := exec.Command("npm", "root", "-g").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), vnuJarInPackage)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, ".cache", "node_modules", vnuJarInPackage)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("no vnu.jar found (tried %s): run `npm install --prefix .cache vnu-jar` in the repository root, or set INSTA485_VNU_JAR",
		strings.Join(tried, ", "))
}

// repoRoot is the nearest directory above the working directory (a test's
// package directory) holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// HTMLMessage is one error the checker reported.
type HTMLMessage struct {
	Page    string // the HTMLPage's Name
	Line    int
	Column  int
	Message string
	Extract string
}

func (m HTMLMessage) String() string {
	return fmt.Sprintf("%s:%d:%d: %s\n\t%s", m.Page, m.Line, m.Column, m.Message, strings.ReplaceAll(m.Extract, "\n", "⏎"))
}

// CheckHTML runs the Nu HTML Checker at jar over pages, all in one Java
// run (the JVM takes about a second to start), and returns its errors.
func CheckHTML(jar string, pages []HTMLPage) ([]HTMLMessage, error) {
	if len(pages) == 0 {
		return nil, nil
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("the HTML checker needs Java (apt-get install default-jre-headless): %w", err)
	}
	dir, err := os.MkdirTemp("", "insta485-html-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	byFile := map[string]string{}
	// Page names (URL paths, say) are not file names: files are numbered
	// and the checker's messages mapped back to names.
	args := []string{
		"-Xss4m",                  // the checker's schema needs a deep stack
		"-XX:+UseSerialGC",        // and neither a parallel collector
		"-XX:TieredStopAtLevel=1", // nor the optimising compiler: starts faster
		"-jar", jar, "--errors-only", "--format", "json", "--exit-zero-always",
	}
	for i, p := range pages {
		f := filepath.Join(dir, fmt.Sprintf("page-%04d.html", i))
		if err := os.WriteFile(f, p.HTML, 0o644); err != nil {
			return nil, err
		}
		byFile[filepath.Base(f)] = p.Name
		args = append(args, f)
	}
	cmd := exec.Command(java, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("run the HTML checker: %v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	// The JSON report goes to standard error.
	var report struct {
		Messages []struct {
			Type     string `json:"type"`
			URL      string `json:"url"`
			LastLine int    `json:"lastLine"`
			FirstCol int    `json:"firstColumn"`
			Message  string `json:"message"`
			Extract  string `json:"extract"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(stderr.Bytes(), &report); err != nil {
		return nil, fmt.Errorf("read the HTML checker's report: %v\n%s", err, stderr.Bytes())
	}
	var out []HTMLMessage
	for _, m := range report.Messages {
		page, ok := byFile[filepath.Base(m.URL)]
		if !ok {
			page = m.URL
		}
		if m.Type != "error" {
			// "non-document-error": the checker could not read a page.
			m.Message = m.Type + ": " + m.Message
		}
		out = append(out, HTMLMessage{Page: page, Line: m.LastLine, Column: m.FirstCol, Message: m.Message, Extract: m.Extract})
	}
	return out, nil
}

// ValidateHTML checks pages with the Nu HTML Checker and reports each error
// with t.Errorf. Without the checker (see FindVNU) or Java the test is
// skipped, except under CI (CI set), where that fails it.
func ValidateHTML(t testing.TB, pages []HTMLPage) {
	t.Helper()
	jar, err := FindVNU()
	if err == nil {
		_, err = exec.LookPath("java")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("HTML validation is required under CI: %v", err)
		}
		t.Skipf("skipping HTML validation: %v", err)
	}
	msgs, err := CheckHTML(jar, pages)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Nu HTML Checker: %d pages, %d errors", len(pages), len(msgs))
	for _, m := range msgs {
		t.Errorf("invalid HTML5: %s", m)
	}
}
