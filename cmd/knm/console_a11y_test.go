package main

import (
	"strings"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/knmproject/knm/internal/browsertest"
)

// a11yAudit is run in the page: it returns one line per problem found. It checks what a
// machine can: every form control and button has an accessible name, links have text,
// images and role=img have a text alternative, ids are unique, the page has a language,
// one h1 and a main landmark, and text has WCAG AA contrast (4.5:1, 3:1 for large text)
// against the background it is drawn on.
const a11yAudit = `(() => {
  const out = [];
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length) &&
    getComputedStyle(el).visibility !== 'hidden';
  const name = el => (el.getAttribute('aria-label') || '').trim() ||
    [...(el.getAttribute('aria-labelledby') || '').split(/\s+/)].filter(Boolean)
      .map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim() ||
    [...(el.labels || [])].map(l => l.textContent).join(' ').trim() || (el.getAttribute('title') || '').trim();
  const what = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '');
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (visible(el) && !name(el)) out.push('control without a label: ' + what(el));
  }
  for (const el of document.querySelectorAll('button, [role=button], a[href]')) {
    if (visible(el) && !(el.textContent.trim() || name(el) || el.querySelector('img[alt]:not([alt=""])'))) {
      out.push('control without text: ' + what(el));
    }
  }
  for (const el of document.querySelectorAll('img, [role=img]')) {
    if (!(el.getAttribute('alt') !== null || name(el))) out.push('image without a text alternative: ' + what(el));
  }
  const ids = {};
  for (const el of document.querySelectorAll('[id]')) {
    if (ids[el.id]) out.push('duplicate id: ' + el.id);
    ids[el.id] = true;
  }
  if (!document.documentElement.lang) out.push('no lang on html');
  if (document.querySelectorAll('h1').length !== 1) out.push(document.querySelectorAll('h1').length + ' h1 elements');
  if (!document.querySelector('main')) out.push('no main landmark');
  const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent.trim() || !visible(el) || el.closest('svg, .skip')) continue;
    seen.add(el);
    const st = getComputedStyle(el);
    const fg = rgb(st.color), bg = background(el);
    const a = lum(fg.slice(0, 3)), b = lum(bg);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) {
      out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': ' + what(el) + ' "' + n.textContent.trim().slice(0, 40) + '"');
    }
  }
  return out;
})()`

// accessible audits the current page at 1440 px, checks that at 375 px nothing but a
// table's own scroller is wider than the screen, that the keyboard reaches a control with
// a visible focus ring, and that the page logged no console error.
func (c *console) accessible(where string) {
	c.t.Helper()
	var problems []string
	c.eval(a11yAudit, &problems)
	if len(problems) > 0 {
		c.b.Fail("accessibility of "+where, "\n%s", strings.Join(problems, "\n"))
	}
	c.b.Run("375 px "+where, step, browsertest.Viewport(375))
	var overflow struct{ Page, Screen float64 }
	c.eval(`({Page: document.documentElement.scrollWidth, Screen: window.innerWidth})`, &overflow)
	c.b.Run("1440 px "+where, step, browsertest.Viewport(1440))
	if overflow.Page > overflow.Screen {
		c.b.Fail("375 px "+where, "the page is %.0f px wide on a %.0f px screen", overflow.Page, overflow.Screen)
	}
	c.b.Run("keyboard "+where, step,
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`),
		chromedp.KeyEvent(kb.Tab))
	var focus struct {
		Tag, Outline, Shadow string
	}
	c.eval(`(() => { const e = document.activeElement, s = getComputedStyle(e);
		const f = {Tag: e.tagName, Outline: s.outlineStyle + ' ' + s.outlineWidth, Shadow: s.boxShadow};
		e.blur(); return f; })()`, &focus)
	if focus.Tag == "BODY" || (strings.HasPrefix(focus.Outline, "none") && focus.Shadow == "none") {
		c.b.Fail("keyboard "+where, "Tab focused %s with no visible focus (outline %q, shadow %q)",
			focus.Tag, focus.Outline, focus.Shadow)
	}
	c.noConsoleErrors(where)
}

// auditCatches checks the audit itself on the sign-in page: it must report a control
// without a label, pale text, a duplicate id and an image without a text alternative put
// there on purpose (the colour set through the DOM: the console's CSP refuses inline
// styles). The page is loaded again afterwards.
func (c *console) auditCatches() {
	c.t.Helper()
	c.open("/signin", "#api_key")
	var problems []string
	c.eval(`(() => { const m = document.querySelector('main');
		m.insertAdjacentHTML('beforeend', '<input name="unlabelled"><p id="pale">pale text</p>' +
			'<p id="api_key">again</p><img src="data:," width="4" height="4">');
		document.getElementById('pale').style.color = '#bbb'; })()`, nil)
	c.eval(a11yAudit, &problems)
	all := strings.Join(problems, "\n")
	for _, want := range []string{"control without a label: input[name=unlabelled]", `"pale text"`,
		"duplicate id: api_key", "image without a text alternative"} {
		if !strings.Contains(all, want) {
			c.b.Fail("audit self-check", "the audit missed %q; it found:\n%s", want, all)
		}
	}
	c.open("/signin", "#api_key")
}
