// Package browsertest drives Debian's Chromium, headless, with chromedp for the console's
// browser tests: a fresh profile per browser, background networking, component updates,
// sync and the GPU off, and every host name other than 127.0.0.1 unresolvable, so a test
// reaches nothing but the server it started.
//
// Outside CI a test skips, saying so, when Chromium is not installed; under CI=true it
// must run (.ci/run installs the chromium package). When a step fails the browser's
// screenshot and page HTML are saved as artefacts under $KNM_TEST_ARTEFACTS (default
// $TMPDIR/knm-test-artefacts) and the test names them.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/knmproject/knm/internal/testenv"
)

// Browser is one headless Chromium with one tab.
type Browser struct {
	t      testing.TB
	ctx    context.Context
	mu     sync.Mutex
	errors []string // console errors, exceptions and failed loads, in order
}

// chromium returns the path of the Chromium binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a browser for t, closed when t ends. Every step is bounded by timeout.
func New(t testing.TB, timeout time.Duration) *Browser {
	t.Helper()
	bin := chromium()
	if bin == "" {
		if testenv.InCI() {
			t.Fatal("Chromium is required under CI but not installed (apt-get install chromium)")
		}
		t.Skip("browser tests skipped: Chromium is not installed (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1440, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	b := &Browser{t: t, ctx: ctx}
	// The first run starts the browser and must not carry a timeout (it would bound the
	// browser's life); a watchdog bounds it instead.
	watchdog := time.AfterFunc(timeout, cancelCtx)
	err := chromedp.Do(ctx)
	watchdog.Stop()
	if err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errors = append(b.errors, m.String()+" ("+m.URL+")")
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelCtx()
		<-done
		cancelAlloc()
	})
	return b
}

// Errors returns the console errors seen so far, and forgets them.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errors
	b.errors = nil
	return out
}

// Run runs steps within timeout; on failure it saves the artefacts and fails the test.
func (b *Browser) Run(step string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v%s", step, err, b.saveArtefacts(step))
	}
}

// Get runs one action that returns a value, as Run does.
func Get[T any](b *Browser, step string, timeout time.Duration, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v%s", step, err, b.saveArtefacts(step))
	}
	return v
}

// Fail saves the artefacts and fails the test with msg.
func (b *Browser) Fail(step, format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf("%s: %s%s", step, fmt.Sprintf(format, args...), b.saveArtefacts(step))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveArtefacts writes a screenshot and the page's HTML and returns a line naming them.
func (b *Browser) saveArtefacts(step string) string {
	dir := os.Getenv("KNM_TEST_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "knm-test-artefacts")
	}
	base := filepath.Join(dir, unsafeName.ReplaceAllString(b.t.Name()+"-"+step, "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return " (artefacts not saved: " + err.Error() + ")"
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	png, _ := chromedp.Run(ctx, chromedp.FullScreenshot(80))
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	os.WriteFile(base+".png", png, 0o644)
	os.WriteFile(base+".html", []byte("<!-- "+url+" -->\n"+html), 0o644)
	return fmt.Sprintf("\nartefacts: %s.png, %s.html (page %s)", base, base, url)
}

// Viewport sets the page width; the height of a screenshot follows the content.
func Viewport(width int) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(int64(width), 900)
}

// Screenshot saves a full-page PNG of the current page at each width, as
// dir/name-<width>.png, and puts the viewport back to 1440 px.
func (b *Browser) Screenshot(dir, name string, widths ...int) {
	b.t.Helper()
	for _, w := range widths {
		b.Run("screenshot "+name, 30*time.Second, Viewport(w), chromedp.Sleep(150*time.Millisecond))
		png := Get(b, "screenshot "+name, 30*time.Second, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.Run("viewport", 10*time.Second, Viewport(1440))
}
