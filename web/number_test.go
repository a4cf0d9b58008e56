package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

// timelineRows are the change cells of the number page's event timeline, in page order.
var timelineRow = regexp.MustCompile(`(?s)<tr>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>`)

func timeline(t *testing.T, body string) []string {
	t.Helper()
	_, table, ok := strings.Cut(body, `class="striped timeline"`)
	if !ok {
		return nil
	}
	table, _, _ = strings.Cut(table, "</table>")
	var out []string
	for _, m := range timelineRow.FindAllStringSubmatch(table, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestNumberTimeline: the number page shows the number's events newest first, with who
// owned it and the fields changed, pages back to older events, and shows a sub-account
// only the events of its own tree (manager.NumberEvents).
func TestNumberTimeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	acme, acmeKey := e.subAccount("Acme", e.masterID)
	const num = "+14155550141"
	e.number(num, knm.StateAvailable, "")
	b := e.browser()
	b.signIn(e.masterKey)
	p := b.post("/numbers/"+num, "/numbers/bulk", url.Values{"action": {"activate"}, "account": {acme.ID},
		"n": {num}, "confirm": {"yes"}})
	if p.status != http.StatusOK && p.status != http.StatusSeeOther {
		t.Fatalf("activate: %d\n%s", p.status, p.body)
	}
	p = b.post("/numbers/"+num, "/numbers/"+num+"/features", url.Values{"cnam.display_name": {"ACME"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save features: %d\n%s", p.status, p.body)
	}
	p = b.get("/numbers/" + num)
	got := timeline(t, p.body)
	// cnam.display_name sets the outbound_cnam feature: the change is a features change.
	want := []string{"features changed", "assigned", "created"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("master's timeline = %v, want %v\n%s", got, want, p.body)
	}
	if !strings.Contains(p.body, "available → in service") || !strings.Contains(p.body, "nobody → Acme") ||
		!strings.Contains(p.body, "cnam") {
		t.Fatalf("the timeline lacks the state, owner or field changed:\n%s", p.body)
	}

	// Older events are a page away once there are more than a page of them.
	for i := range timelineSize {
		name := "N" + strings.Repeat("x", i%10)
		if p := b.post("/numbers/"+num, "/numbers/"+num+"/features",
			url.Values{"cnam.display_name": {name}}); p.status != http.StatusSeeOther {
			t.Fatalf("save %d: %d", i, p.status)
		}
	}
	p = b.get("/numbers/" + num)
	if n := len(timeline(t, p.body)); n != timelineSize {
		t.Fatalf("first page has %d events, want %d", n, timelineSize)
	}
	older := regexp.MustCompile(`href="(/numbers/[^"]+\?before=\d+)#events-h">Older events`).FindStringSubmatch(p.body)
	if older == nil {
		t.Fatalf("no link to older events:\n%s", p.body)
	}
	p = b.get(older[1])
	if got := timeline(t, p.body); len(got) != 3 || got[2] != "created" {
		t.Fatalf("older page = %v, want the last 3 ending with created", got)
	}
	if p := b.get("/numbers/" + num + "?before=x"); p.status != http.StatusBadRequest {
		t.Errorf("before=x: %d", p.status)
	}

	// Acme sees its own part of the history, not the unowned number's creation.
	a := e.browser()
	a.signIn(acmeKey)
	p = a.get(older[1])
	if got := timeline(t, p.body); len(got) != 2 || got[1] != "assigned" {
		t.Fatalf("Acme's older page = %v, want two ending with assigned", got)
	}
}
