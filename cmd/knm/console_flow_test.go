package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/knmproject/knm/internal/browsertest"
)

// step bounds one browser step.
const step = 30 * time.Second

// console is a browser on a running knm.
type console struct {
	t     *testing.T
	b     *browsertest.Browser
	url   string
	shots string // KNM_SCREENSHOTS: where page screenshots go, "" for none
}

func (c *console) open(path string, waitFor string) {
	c.t.Helper()
	c.b.Run("open "+path, step, chromedp.Navigate(c.url+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

func (c *console) text(sel string) string {
	c.t.Helper()
	return browsertest.Get(c.b, "text of "+sel, step, chromedp.Text(chromedp.CSS(sel)))
}

// expect fails when the text of sel does not contain want.
func (c *console) expect(sel, want string) {
	c.t.Helper()
	if got := c.text(sel); !strings.Contains(got, want) {
		c.b.Fail("expect "+sel, "text %q does not contain %q", got, want)
	}
}

func (c *console) location() string {
	c.t.Helper()
	return browsertest.Get(c.b, "location", step, chromedp.Location())
}

// eval runs JavaScript and decodes its JSON value into out.
func (c *console) eval(js string, out any) {
	c.t.Helper()
	raw := browsertest.Get(c.b, "eval", step, chromedp.Evaluate[json.RawMessage](js))
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.b.Fail("eval", "%s: %v", raw, err)
		}
	}
}

// submit clicks a submit button and waits for waitFor on the next page (the current
// page is marked first, so an element it has too does not count).
func (c *console) submit(button, waitFor string) {
	c.t.Helper()
	c.b.Run("submit "+button, step, markPage(), chromedp.Click(chromedp.CSS(button)), nextPage(waitFor))
}

// markPage marks the current document; nextPage waits for sel in a document not marked.
func markPage() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.left = "1"`)
}

func nextPage(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS("html:not([data-left]) " + sel))
}

// shot checks the current page's accessibility, then saves screenshots of it at 1440
// and 375 px when asked for.
func (c *console) shot(name string) {
	c.t.Helper()
	c.accessible(name)
	if c.shots != "" {
		c.b.Screenshot(c.shots, name, 1440, 375)
	}
}

// noConsoleErrors fails when the page reported an error since the last check.
func (c *console) noConsoleErrors(where string) {
	c.t.Helper()
	if errs := c.b.Errors(); len(errs) > 0 {
		c.b.Fail(where, "browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// onlyRefusals forgets the errors a deliberately refused request logs (Chromium reports
// every page answered 4xx as a failed load) and fails on any other.
func (c *console) onlyRefusals(where string) {
	c.t.Helper()
	for _, e := range c.b.Errors() {
		if !strings.Contains(e, "the server responded with a status of 4") {
			c.b.Fail(where, "browser console error: %s", e)
		}
	}
}

func (c *console) signIn(key, next string) {
	c.t.Helper()
	c.b.Run("sign in", step, chromedp.SetValue(chromedp.ID("api_key"), key),
		markPage(), chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), nextPage(`p.who`))
	if loc := c.location(); !strings.HasSuffix(loc, next) {
		c.b.Fail("sign in", "landed on %s, want %s", loc, next)
	}
}

// TestConsoleDemo clicks through the console of `knm demo` (SQLite and the built-in
// Voxbone emulator) over real HTTP in headless Chromium.
func TestConsoleDemo(t *testing.T) {
	t.Parallel()
	b := browsertest.New(t, time.Minute)
	d := startDaemon(t, map[string]string{"KNM_LISTEN": "127.0.0.1:0"}, "Press Ctrl-C", "demo")
	var key, once string
	for _, l := range d.lines {
		if k, ok := strings.CutPrefix(l, "master API key: "); ok {
			key = k
		}
		if _, link, ok := strings.Cut(l, "one-time console sign-in link (master): "); ok {
			once = link
		}
	}
	if key == "" || once == "" || !strings.Contains(strings.Join(d.lines, "\n"), "web console: "+d.url+"/") {
		t.Fatalf("demo output lacks the console URL, key or sign-in link:\n%s", strings.Join(d.lines, "\n"))
	}
	c := &console{t: t, b: b, url: d.url, shots: os.Getenv("KNM_SCREENSHOTS")}
	c.firstLoadWeight()
	c.auditCatches()
	consoleFlow(c, key)
	c.oneTimeLink(once)
}

// TestConsolePostgres runs the same flow on `knm serve` over PostgreSQL.
func TestConsolePostgres(t *testing.T) {
	t.Parallel()
	b := browsertest.New(t, time.Minute)
	db := pgSchemaDSN(t)
	configureVoxbone(t, db, startEmulator(t))
	key := "console-test-master-key-0123456789"
	d := startDaemon(
		t,
		map[string]string{"KNM_MASTER_API_KEY": key},
		"",
		"--db",
		db,
		"serve",
		"--listen",
		"127.0.0.1:0",
	)
	consoleFlow(&console{t: t, b: b, url: d.url}, key)
}

// firstLoadWeight measures what a fresh browser transfers to show the sign-in page:
// HTML, CSS and JavaScript must stay under 150 KB.
func (c *console) firstLoadWeight() {
	c.t.Helper()
	c.open("/signin", "#api_key")
	var bytes struct{ Total, Resources float64 }
	c.eval(`(() => { const nav = performance.getEntriesByType('navigation')[0];
		const res = performance.getEntriesByType('resource');
		const r = res.reduce((s, e) => s + e.transferSize, 0);
		return {Total: nav.transferSize + r, Resources: res.length}; })()`, &bytes)
	c.t.Logf("first load: %.0f bytes transferred (%v resources)", bytes.Total, bytes.Resources)
	if bytes.Total <= 0 || bytes.Total >= 150*1024 || bytes.Resources < 3 {
		c.b.Fail(
			"first load",
			"transferred %.0f bytes in %v resources, want under 150 KB and the CSS and JS",
			bytes.Total,
			bytes.Resources,
		)
	}
}

// consoleFlow is the click-through both tests share.
func consoleFlow(c *console, key string) {
	c.signInFlow(key)
	nums := c.buyFlow(key)
	c.numberFlow(nums[0])
	c.adminPages(nums[1])
	c.subAccountFlow(nums[1])
}

// signInFlow: a page without a session goes to sign in and back; a wrong key is refused.
func (c *console) signInFlow(key string) {
	c.open("/numbers?state=available", "#api_key")
	if loc := c.location(); !strings.Contains(loc, "/signin?next=%2Fnumbers%3Fstate%3Davailable") {
		c.b.Fail("redirect", "landed on %s", loc)
	}
	c.shot("signin")
	c.b.Run("wrong key", step, chromedp.SetValue(chromedp.ID("api_key"), "not-a-key-0000000000000000"),
		markPage(), chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), nextPage(".error-box"))
	c.expect(".error-box", "not valid")
	c.onlyRefusals("wrong key")
	c.signIn(key, "/numbers?state=available")
	c.noConsoleErrors("sign in")
}

// buyFlow quotes 256 x 3 (nothing bought), confirms, and returns the numbers bought.
func (c *console) buyFlow(key string) []string {
	t := c.t
	c.open("/search?country=US&prefix=256&quantity=3", "#quote-h")
	c.expect("#quote-h + h3 ~ p", "3 to buy")
	c.shot("search")
	tok := apiToken(t, c.url, key)
	if code, env := call(t, "GET", c.url+"/v2/voxbone/orders", tok, ""); code != 200 || string(env["data"]) != "[]" {
		t.Fatalf("an order exists before the confirm: %d %s", code, env["data"])
	}
	c.submit(`form[action="/search/buy"] button`, "#progress .notice")
	c.expect("#progress .notice", "3 number(s)")
	c.expect("#progress .steps", "imported")
	c.shot("buy")
	var nums []string
	c.eval(`[...document.querySelectorAll('#progress button[name=n]')].map(b => b.value)`, &nums)
	if len(nums) != 3 {
		c.b.Fail("bought", "numbers %v, want 3", nums)
	}
	c.noConsoleErrors("buy")
	return nums
}

// numberFlow assigns a number in one click, edits its CNAM and releases it.
func (c *console) numberFlow(num string) {
	// Activate one for an account, with one click.
	c.submit(`#progress button[name=n][value="`+num+`"]`, "h1")
	c.expect("h1", "1 of 1 done")
	c.expect("tbody", "in service")

	// Edit its CNAM: a bad value is refused next to the field, a good one saved.
	c.open("/numbers/"+num, "#features-h")
	c.shot("number")
	c.b.Run("bad cnam", step, chromedp.SetValue(chromedp.CSS(`[name="cnam.display_name"]`), "MUCH TOO LONG A NAME"),
		markPage(), chromedp.Click(chromedp.CSS(`form[action$="/features"] button[type=submit]`)),
		nextPage(`[id="cnam.display_name-error"]`))
	c.expect(`[id="cnam.display_name-error"]`, "1 to 15 characters")
	c.onlyRefusals("bad cnam")
	c.b.Run("good cnam", step, chromedp.SetValue(chromedp.CSS(`[name="cnam.display_name"]`), "ACME SUPPORT"),
		markPage(), chromedp.Click(chromedp.CSS(`form[action$="/features"] button[type=submit]`)), nextPage(".notice"))
	c.expect(".notice", "Features saved")
	v := browsertest.Get(c.b, "cnam", step, chromedp.Value(chromedp.CSS(`[name="cnam.display_name"]`)))
	if v != "ACME SUPPORT" {
		c.b.Fail("cnam", "value %q after save", v)
	}

	// Release it: the confirmation says Voxbone cancels the DID.
	c.b.Run("release", step, chromedp.SetValue(chromedp.CSS(`#actions-h ~ form select[name=action]`), "release"),
		markPage(), chromedp.Click(chromedp.CSS(`#actions-h ~ form button[type=submit]`)), nextPage("main table"))
	c.expect("main table", "Voxbone cancels the DID")
	c.shot("release-confirm")
	c.submit(`main form button[type=submit]`, "h1")
	c.expect("h1", "1 of 1 done")
	c.expect("tbody", "deleted")
	c.noConsoleErrors("release")
}

// adminPages: orders, reconcile, the numbers table (listing num), the dashboard and
// settings.
func (c *console) adminPages(num string) {
	// The order is in Orders, with its steps.
	c.open("/orders", "#new-h")
	c.expect("main table tbody", "imported")
	c.expect("main table tbody", "(running)") // the instance that ran it: this knm, still up
	c.shot("orders")
	c.submit(`main table tbody a`, ".steps")
	c.expect(".steps", "imported")
	c.shot("order")

	// Reconcile runs and shows its result.
	c.open("/reconcile", "main form button")
	c.submit(`main form button[value=no]`, "#res-h")
	c.shot("reconcile")

	// The numbers table and the dashboard.
	c.open("/numbers", "main table")
	c.expect("main table tbody", num)
	c.shot("numbers")
	c.open("/", "svg.chart")
	c.expect("#rate-h ~ p", "requests in the last second")
	c.shot("dashboard")

	// Settings: a bad value is refused inline, a good one saved.
	c.open("/settings", "#number_manager-voxbone")
	c.b.Run("bad setting", step, chromedp.SetValue(chromedp.ID("number_manager-voxbone-max_order_quantity"), "0"),
		markPage(), chromedp.Click(chromedp.CSS(`#number_manager-voxbone form button[type=submit]`)),
		nextPage("#number_manager-voxbone-max_order_quantity-error"))
	c.expect("#number_manager-voxbone-max_order_quantity-error", "at least 1")
	c.onlyRefusals("bad setting")
	c.b.Run("good setting", step, chromedp.SetValue(chromedp.ID("number_manager-voxbone-max_order_quantity"), "25"),
		markPage(), chromedp.Click(chromedp.CSS(`#number_manager-voxbone form button[type=submit]`)),
		nextPage("#number_manager-voxbone .notice"))
	c.shot("settings")
}

// subAccountFlow creates a sub-account, gives it num, checks a form without its CSRF
// token is refused, and signs in as the sub-account, which sees only num.
func (c *console) subAccountFlow(num string) {
	// A sub-account: created with its key shown once, given a number, signed in as.
	c.open("/accounts", "#create-h")
	c.b.Run("create account", step, chromedp.SetValue(chromedp.ID("name"), "Acme"),
		markPage(), chromedp.Click(chromedp.CSS(`form[action="/accounts"] button[type=submit]`)), nextPage("#new-key"))
	subKey := c.text("#new-key")
	c.shot("accounts")
	c.open("/numbers/"+num, "#actions-h")
	var acme string
	c.eval(
		`[...document.querySelectorAll('#actions-h ~ form select[name=account] option')].find(o => o.text === 'Acme').value`,
		&acme,
	)
	c.b.Run("activate for Acme", step, chromedp.SetValue(chromedp.CSS(`#actions-h ~ form select[name=account]`), acme),
		markPage(), chromedp.Click(chromedp.CSS(`#actions-h ~ form button[type=submit]`)), nextPage("main table"))
	c.expect("h1", "for Acme")
	c.submit(`main form button[type=submit]`, "h1")
	c.expect("h1", "1 of 1 done")

	// A form without its CSRF token is refused.
	c.open("/accounts", "#create-h")
	c.b.Run(
		"no csrf",
		step,
		chromedp.SetValue(chromedp.ID("name"), "Forged"),
		chromedp.Evaluate[chromedp.Void](
			`document.querySelector('form[action="/accounts"] input[name=csrf]').remove()`,
		),
		markPage(),
		chromedp.Click(chromedp.CSS(`form[action="/accounts"] button[type=submit]`)),
		nextPage(".error-box"),
	)
	c.expect(".error-box", "security token")
	c.onlyRefusals("no csrf")

	// Signed in as Acme, only Acme's number is listed.
	c.submit(`header form[action="/signout"] button`, "#api_key")
	c.open("/numbers", "#api_key")
	c.signIn(subKey, "/numbers")
	var rows []string
	c.eval(`[...document.querySelectorAll('main table tbody a.e164')].map(a => a.textContent)`, &rows)
	if len(rows) != 1 || rows[0] != num {
		c.b.Fail("sub-account numbers", "rows %v, want only %s", rows, num)
	}
	c.noConsoleErrors("sub-account")
}

// oneTimeLink signs a fresh session in through the link knm demo printed, once.
func (c *console) oneTimeLink(link string) {
	c.t.Helper()
	c.b.Run(
		"sign out",
		step,
		chromedp.Navigate(c.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`header form[action="/signout"] button`)),
		markPage(),
		chromedp.Click(chromedp.CSS(`header form[action="/signout"] button`)),
		nextPage("#api_key"),
	)
	c.b.Run("one-time link", step, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main form button`)),
		markPage(), chromedp.Click(chromedp.CSS(`main form button`)), nextPage("svg.chart"))
	c.expect("p.who", "master")
	c.b.Run("link used", step, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".error-box")))
	c.expect(".error-box", "used already")
	c.onlyRefusals("used link")
}

// apiToken signs in to the REST API.
func apiToken(t *testing.T, url, key string) string {
	t.Helper()
	code, env := call(t, "PUT", url+"/v2/api_auth", "", `{"data":{"api_key":"`+key+`"}}`)
	if code != 201 {
		t.Fatalf("api_auth: %d", code)
	}
	return field(env, "auth_token")
}
