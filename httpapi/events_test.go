package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
)

// eventsFixture: master, reseller R with customer C, and an unrelated account O; four
// numbers imported (unowned stock), one activated for C and one for O.
type eventsFixture struct {
	e                     *testEnv
	master, resTok, oTok  string
	res, cust, other      string
	custNumber, oNumber   string
	stockEvents, allCount int
}

func newEventsFixture(t *testing.T, dsn string) *eventsFixture {
	e := newTestEnv(t, dsn, nil)
	f := &eventsFixture{e: e, custNumber: "+12565550101", oNumber: "+12565550102", stockEvents: 4, allCount: 6}
	e.importNumbers("+12565550101", "+12565550102", "+12565550103", "+12565550104")
	f.master = e.login(e.masterKey)
	var resKey, oKey string
	f.res, resKey = e.createAccount(f.master, "reseller", map[string]any{"is_reseller": true})
	f.resTok = e.login(resKey)
	f.cust, _ = e.createAccount(f.resTok, "customer", nil)
	f.other, oKey = e.createAccount(f.master, "other", nil)
	f.oTok = e.login(oKey)
	for _, a := range []struct{ tok, acc, num string }{{f.resTok, f.cust, f.custNumber}, {f.oTok, f.other, f.oNumber}} {
		r := e.do("PUT", "/v2/accounts/"+a.acc+"/phone_numbers/"+url.PathEscape(a.num)+"/activate", a.tok, nil)
		if r.Status != 201 {
			t.Fatalf("activate: %d %s", r.Status, r.Raw)
		}
	}
	return f
}

// eventsOf reads GET /v2/events and returns the events and next_since.
func (f *eventsFixture) eventsOf(t *testing.T, tok, query string) ([]knm.Event, int64) {
	t.Helper()
	r := f.e.do("GET", "/v2/events"+query, tok, nil)
	if r.Status != 200 {
		t.Fatalf("GET /v2/events%s: %d %s", query, r.Status, r.Raw)
	}
	var evs []knm.Event
	r.data(t, &evs)
	var next int64
	json.Unmarshal(r.Env["next_since"], &next)
	return evs, next
}

func TestEventsAPI(t *testing.T) {
	t.Parallel()
	f := newEventsFixture(t, "")
	e := f.e
	all, next := f.eventsOf(t, f.master, "")
	if len(all) != f.allCount || next != all[len(all)-1].ID {
		t.Fatalf("master sees %d events (next %d), want %d", len(all), next, f.allCount)
	}
	if a := all[4]; a.Type != knm.EventNumberAssigned || a.Number != f.custNumber || a.AccountAfter != f.cust ||
		a.StateBefore != knm.StateAvailable || a.StateAfter != knm.StateInService {
		t.Fatalf("activation event: %+v", a)
	}
	// The reseller sees its customer's number only; O its own; both skip the rest.
	for _, c := range []struct {
		tok, want string
	}{{f.resTok, f.custNumber}, {f.oTok, f.oNumber}} {
		evs, next := f.eventsOf(t, c.tok, "")
		if len(evs) != 1 || evs[0].Number != c.want || next != all[len(all)-1].ID {
			t.Errorf("sees %+v (next %d), want only the activation of %s", evs, next, c.want)
		}
	}
	// Paging by since and limit.
	page, next := f.eventsOf(t, f.master, "?since="+strconv.FormatInt(all[1].ID, 10)+"&limit=2")
	if len(page) != 2 || page[0].ID != all[2].ID || next != all[3].ID {
		t.Fatalf("page after the 2nd event: %+v next %d", page, next)
	}
	for _, bad := range []string{"?since=-1", "?since=x", "?limit=0", "?limit=1001", "?limit=x"} {
		wantError(t, e.do("GET", "/v2/events"+bad, f.master, nil), http.StatusBadRequest)
	}
	wantError(t, e.do("GET", "/v2/events", "", nil), http.StatusUnauthorized)
}

func TestEventsAPIPostgres(t *testing.T) {
	t.Parallel()
	f := newEventsFixture(t, freshSchemaDSN(t))
	if all, _ := f.eventsOf(t, f.master, ""); len(all) != f.allCount {
		t.Fatalf("master sees %d events, want %d", len(all), f.allCount)
	}
}

// sseClient reads a text/event-stream reply line by line.
type sseClient struct {
	lines  chan string
	cancel context.CancelFunc
}

func openStream(t *testing.T, e *testEnv, tok string, header map[string]string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v2/events", nil)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{lines: make(chan string, 100), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(c.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	return c
}

// nextEvent returns the next event's id, type and data.
func (c *sseClient) nextEvent(t *testing.T) (id int64, typ string, ev knm.Event) {
	t.Helper()
	for line := range c.lines {
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseInt(line[4:], 10, 64)
		case strings.HasPrefix(line, "event: "):
			typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &ev); err != nil {
				t.Fatalf("data %q: %v", line, err)
			}
			return id, typ, ev
		}
	}
	t.Fatal("stream ended")
	return
}

func TestEventStream(t *testing.T) {
	t.Parallel()
	f := newEventsFixture(t, "")
	e := f.e
	all, _ := f.eventsOf(t, f.master, "")

	s := openStream(t, e, f.resTok, nil)
	id, typ, ev := s.nextEvent(t)
	if id != all[4].ID || typ != string(knm.EventNumberAssigned) || ev.Number != f.custNumber {
		t.Fatalf("first streamed event: id %d type %s %+v", id, typ, ev)
	}
	// A change made now arrives on the open stream; O's change does not.
	num := "/v2/accounts/" + f.other + "/phone_numbers/" + url.PathEscape(f.oNumber)
	if r := e.do("PATCH", num, f.oTok, map[string]any{"data": map[string]any{"note": "x"}}); r.Status != 200 {
		t.Fatalf("patch O: %d %s", r.Status, r.Raw)
	}
	num = "/v2/accounts/" + f.cust + "/phone_numbers/" + url.PathEscape(f.custNumber)
	cnam := map[string]any{"data": map[string]any{"cnam": map[string]string{"display_name": "ACME"}}}
	if r := e.do("PATCH", num, f.resTok, cnam); r.Status != 200 {
		t.Fatalf("patch C: %d %s", r.Status, r.Raw)
	}
	// cnam.display_name sets the outbound_cnam feature, so the change is a features change.
	id, typ, ev = s.nextEvent(t)
	if typ != string(knm.EventNumberFeaturesChanged) || ev.Number != f.custNumber || string(ev.Public["cnam"]) == "" {
		t.Fatalf("live event: id %d type %s %+v", id, typ, ev)
	}
	s.cancel()

	// Resuming with Last-Event-ID starts after it.
	s = openStream(t, e, f.master, map[string]string{"Last-Event-ID": strconv.FormatInt(all[3].ID, 10)})
	if id, _, _ := s.nextEvent(t); id != all[4].ID {
		t.Fatalf("resumed stream starts at %d, want %d", id, all[4].ID)
	}
	s.cancel()
	req, _ := http.NewRequest("GET", e.srv.URL+"/v2/events", nil)
	req.Header.Set("X-Auth-Token", f.master)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", "nope")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad Last-Event-ID: %d", resp.StatusCode)
	}
}

// TestEventStreamEndsOnShutdown: a graceful shutdown ends open streams instead of waiting
// for them.
func TestEventStreamEndsOnShutdown(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	hs := e.api.HTTPServer()
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = hs
	srv.Start()
	defer srv.Close()
	tok := e.login(e.masterKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v2/events", nil)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown waited for the stream: %v", err)
	}
}
