package knmvoxbone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone/emulator"
)

// TestHugeGroupCount: inventory/didgroup answering resultCount = MaxInt64 neither panics nor
// fires a request per claimed page: the page count is clamped, pages are fetched by at most
// pageWorkers at once, and the listing ends at the first short page.
func TestHugeGroupCount(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{})
	rw := &rewriter{e: e, endpoint: "didgroup.list", delay: 5 * time.Millisecond,
		edit: func(_ *http.Request, m map[string]any) { m["resultCount"] = json.Number("9223372036854775807") }}
	srv := httptest.NewServer(rw)
	defer srv.Close()
	s := testSettings(srv.URL)
	s.PageSize = 2
	c := newTestCarrier(t, s, Deps{})
	direct := httptest.NewServer(e)
	defer direct.Close()
	ds := testSettings(direct.URL)
	ds.PageSize = 2
	want, err := newTestCarrier(t, ds, Deps{}).Quote(context.Background(), QuoteRequest{Country: "US"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Quote(context.Background(), QuoteRequest{Country: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) < 10 {
		t.Errorf("quoted %d groups, want %d", len(got), len(want))
	}
	if n, most := int(rw.calls.Load()), (len(want)+1)/2+1+pageWorkers; n > most {
		t.Errorf("%d didgroup requests for %d groups, want at most %d", n, len(want), most)
	}
	if p := rw.peak.Load(); p > pageWorkers {
		t.Errorf("%d didgroup requests in flight at once, want at most %d", p, pageWorkers)
	}
}

// TestLowGroupCount: a resultCount lower than the truth (here: the page length) still
// lists every group.
func TestLowGroupCount(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{})
	rw := &rewriter{e: e, endpoint: "didgroup.list", edit: func(_ *http.Request, m map[string]any) {
		gs, _ := m["didGroups"].([]any)
		m["resultCount"] = len(gs)
	}}
	srv := httptest.NewServer(rw)
	defer srv.Close()
	direct := httptest.NewServer(e)
	defer direct.Close()
	quote := func(url string) []GroupQuote {
		s := testSettings(url)
		s.PageSize = 3
		q, err := newTestCarrier(t, s, Deps{}).Quote(context.Background(), QuoteRequest{Country: "US"})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	if got, want := len(quote(srv.URL)), len(quote(direct.URL)); got != want {
		t.Errorf("quoted %d groups, want %d", got, want)
	}
}
