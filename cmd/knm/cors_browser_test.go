package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/knmproject/knm/internal/testenv"
	"github.com/knmproject/knm/kazoo/auth/kazootest"
)

// browserPage is a web application on its own origin: it logs in to knm with an API key,
// searches, activates what it found and lists the account's numbers, all with fetch(), and
// leaves what happened in window.knmResult.
var browserPage = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>knm from another origin</title></head>
<body><pre id="result">running</pre>
<script>
const KNM = {{.KNM}}, KEY = {{.Key}}, ACCOUNT = {{.Account}}, KAZOO_TOKEN = {{.Token}};
async function call(method, path, token, data) {
  const headers = {};
  if (token) headers["X-Auth-Token"] = token;
  const init = {method, headers};
  if (data !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify({data});
  }
  const r = await fetch(KNM + path, init);
  return {status: r.status, requestId: r.headers.get("X-Request-Id"), body: await r.json()};
}
async function run() {
  const out = {steps: []};
  try {
    let token = KAZOO_TOKEN;
    if (!token) {
      const auth = await call("PUT", "/v2/api_auth", null, {api_key: KEY});
      out.steps.push({step: "login", status: auth.status});
      token = auth.body.auth_token;
    }
    const base = "/v2/accounts/" + ACCOUNT + "/phone_numbers";
    const found = await call("GET", base + "?prefix=256&quantity=2&country=US", token);
    const numbers = (found.body.data || []).map(n => n.number);
    out.steps.push({step: "search", status: found.status, count: numbers.length});
    const act = await call("PUT", base + "/collection/activate", token, {numbers});
    out.steps.push({step: "activate", status: act.status, count: Object.keys(act.body.data.success || {}).length});
    const list = await call("GET", base, token);
    const listed = Object.entries(list.body.data.numbers || {})
      .filter(([n, v]) => numbers.includes(n) && v.state === "in_service");
    out.steps.push({step: "list", status: list.status, count: listed.length});
    out.requestId = list.requestId;
  } catch (e) {
    out.error = String(e);
  }
  window.knmResult = out;
  document.getElementById("result").textContent = JSON.stringify(out);
}
run();
</script></body></html>
`))

// browserResult is window.knmResult.
type browserResult struct {
	Steps []struct {
		Step          string
		Status, Count int
	}
	RequestID string
	Error     string
}

// TestBrowserCallsFromAnotherOrigin loads, in headless Chromium, a page served from a
// second origin whose script logs in with an API key, searches, activates and lists
// against `knm demo --cors-origins <that origin>`; the same page from an origin not listed
// is stopped by the browser at its first request.
func TestBrowserCallsFromAnotherOrigin(t *testing.T) {
	t.Parallel()
	chromium := findChromium(t)
	allowed, allowedURL := pageServer(t)
	blocked, blockedURL := pageServer(t)
	env := map[string]string{"KNM_LISTEN": "127.0.0.1:0"}
	d := startDaemon(t, env, "Press Ctrl-C", "demo", "--cors-origins", allowedURL)
	page := map[string]string{"KNM": d.url, "Key": printed(d, "master API key: "),
		"Account": printed(d, "master account: ")}
	allowed.page, blocked.page = page, page
	ctx := newBrowser(t, chromium)

	got := runPage(t, ctx, allowedURL)
	want := []string{"login 201 0", "search 200 2", "activate 201 2", "list 200 2"}
	var steps []string
	for _, s := range got.Steps {
		steps = append(steps, fmt.Sprintf("%s %d %d", s.Step, s.Status, s.Count))
	}
	if got.Error != "" || strings.Join(steps, ", ") != strings.Join(want, ", ") || got.RequestID == "" {
		failBrowser(t, ctx, "allowed origin: %+v, want steps %v and an exposed X-Request-Id", got, want)
	}

	got = runPage(t, ctx, blockedURL)
	if len(got.Steps) != 0 || !strings.Contains(got.Error, "Failed to fetch") {
		failBrowser(t, ctx, "origin not allowed: %+v, want the browser to refuse the first call", got)
	}
}

// TestBrowserKazooTokenFromAnotherOrigin is the same page signed in at Kazoo instead:
// its script holds a token minted as Kazoo mints them (RS256, a kid knm trusts) and
// searches, activates and lists with it from a second origin.
func TestBrowserKazooTokenFromAnotherOrigin(t *testing.T) {
	t.Parallel()
	chromium := findChromium(t)
	allowed, allowedURL := pageServer(t)
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0"}, "Press Ctrl-C", "demo",
		"--cors-origins", allowedURL)
	account := printed(d, "master account: ")
	_, env := call(t, "PUT", d.url+"/v2/api_auth", "", `{"data":{"api_key":"`+printed(d, "master API key: ")+`"}}`)
	var master string
	json.Unmarshal(env["auth_token"], &master)
	key := kazootest.NewKey(t)
	trust, _ := json.Marshal(map[string]any{"data": map[string]any{"default": map[string]any{
		"public_keys_pem": map[string]string{key.ID: key.PublicPEM()}}}})
	if code, env := call(t, "POST", d.url+"/v2/system_configs/kazoo_auth", master, string(trust)); code != 200 {
		t.Fatalf("trust the Kazoo key: %d %s", code, env["data"])
	}
	tok := kazootest.Mint(t, key, kazootest.Token{AccountID: account, OwnerID: kazootest.RandHex(16),
		Exp: time.Now().Add(time.Hour)})
	allowed.page = map[string]string{"KNM": d.url, "Account": account, "Token": tok}
	ctx := newBrowser(t, chromium)

	got := runPage(t, ctx, allowedURL)
	want := []string{"search 200 2", "activate 201 2", "list 200 2"}
	var steps []string
	for _, s := range got.Steps {
		steps = append(steps, fmt.Sprintf("%s %d %d", s.Step, s.Status, s.Count))
	}
	if got.Error != "" || strings.Join(steps, ", ") != strings.Join(want, ", ") {
		failBrowser(t, ctx, "Kazoo token from another origin: %+v, want steps %v", got, want)
	}
}

// printed returns what the daemon printed after prefix at the start of a line.
func printed(d *daemon, prefix string) string {
	for _, l := range d.lines {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	return ""
}

// findChromium returns Debian's chromium; outside CI a machine without it skips.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testenv.InCI() {
		t.Fatal("chromium is needed for the browser test under CI (apt-get install chromium; .ci/run installs it)")
	}
	t.Skip("browser test skipped: chromium not installed (apt-get install chromium)")
	return ""
}

// pageHandler serves browserPage once page is set.
type pageHandler struct{ page map[string]string }

func (h *pageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := browserPage.Execute(w, h.page); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// pageServer serves the page on its own 127.0.0.1 port: its own origin.
func pageServer(t *testing.T) (*pageHandler, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &pageHandler{}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h, "http://" + ln.Addr().String()
}

// newBrowser starts headless Chromium with a fresh profile, no background traffic and no
// way off the loopback interface; it stops with the test.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// runPage loads a page and waits (bounded) for its script to finish.
func runPage(t *testing.T, ctx context.Context, url string) browserResult {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		failBrowser(t, ctx, "navigate to %s: %v", url, err)
	}
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(wait, chromedp.Poll[json.RawMessage]("window.knmResult",
		chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		failBrowser(t, ctx, "page %s did not finish: %v", url, err)
	}
	var res browserResult
	if err := json.Unmarshal(raw, &res); err != nil {
		failBrowser(t, ctx, "window.knmResult %s: %v", raw, err)
	}
	return res
}

// failBrowser saves a screenshot and the page's HTML in $KNM_TEST_ARTIFACTS (else a kept
// temporary directory), says where, and fails the test.
func failBrowser(t *testing.T, ctx context.Context, format string, args ...any) {
	t.Helper()
	dir := os.Getenv("KNM_TEST_ARTIFACTS")
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "knm-browser-")
	} else {
		dir = filepath.Join(dir, t.Name())
		err = os.MkdirAll(dir, 0o755)
	}
	shot, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	png, perr := chromedp.Run(shot, chromedp.FullScreenshot(90))
	html, herr := chromedp.Run(shot, chromedp.OuterHTML("html"))
	if err == nil {
		err = errors.Join(perr, herr, os.WriteFile(filepath.Join(dir, "page.png"), png, 0o644),
			os.WriteFile(filepath.Join(dir, "page.html"), []byte(html), 0o644))
	}
	t.Fatalf(format+"\nscreenshot and HTML in %s (%v)", append(args, dir, err)...)
}
