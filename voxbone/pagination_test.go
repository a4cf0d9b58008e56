package voxbone_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// lyingCount forwards to the emulator and rewrites the resultCount of inventory/didgroup
// answers: edit gets the decoded body and changes it in place.
type lyingCount struct {
	e     *emulator.Emulator
	edit  func(m map[string]any)
	pages atomic.Int32
}

func (h *lyingCount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/inventory/didgroup") {
		h.e.ServeHTTP(w, r)
		return
	}
	h.pages.Add(1)
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, r)
	var m map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	h.edit(m)
	b, _ := json.Marshal(m)
	w.Header().Set("Content-Type", "application/json")
	w.Write(bytes.TrimSpace(b))
}

// TestPaginationIgnoresResultCount: a listing follows pages until a short or empty page (or
// error 13), whatever resultCount says, so a wrong or missing count drops nothing.
func TestPaginationIgnoresResultCount(t *testing.T) {
	ctx := context.Background()
	edits := map[string]func(m map[string]any){
		"count is page length": func(m map[string]any) {
			if gs, ok := m["didGroups"].([]any); ok {
				m["resultCount"] = len(gs)
			}
		},
		"count missing": func(m map[string]any) { delete(m, "resultCount") },
		"count zero":    func(m map[string]any) { m["resultCount"] = 0 },
		"count too big": func(m map[string]any) { m["resultCount"] = 1 << 40 },
	}
	e, base, opts, want := usGroups(t, 7)
	if len(want) < 15 {
		t.Fatalf("the emulator's catalogue has only %d US groups", len(want))
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			h := &lyingCount{e: e, edit: edit}
			srv := httptest.NewServer(h)
			defer srv.Close()
			sameGroups(t, listGroups(t, ctx, srv.URL+base, opts), want)
			if n, most := int(h.pages.Load()), len(want)/7+1; n > most {
				t.Errorf("%d page requests, want at most %d", n, most)
			}
		})
	}
}

// TestPaginationFullPagesForever: a server that answers full pages forever is cut off after
// voxbone.MaxPages pages with an error instead of looping.
func TestPaginationFullPagesForever(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"didGroups":[{"didGroupId":1},{"didGroupId":2}],"resultCount":2}`))
	}))
	defer srv.Close()
	c, err := voxbone.New(voxbone.WithBaseURL(srv.URL+"/ws-voxbone/services/rest"), voxbone.WithPageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListAllDIDGroups(context.Background(), voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA"})
	if err == nil || !strings.Contains(err.Error(), "full pages") {
		t.Fatalf("endless listing: err %v", err)
	}
	if got := int(n.Load()); got != voxbone.MaxPages {
		t.Errorf("%d requests, want %d", got, voxbone.MaxPages)
	}
}

func listGroups(t *testing.T, ctx context.Context, url string, opts voxbone.ListDIDGroupsOptions) []voxbone.DIDGroup {
	t.Helper()
	c, err := voxbone.New(voxbone.WithBaseURL(url))
	if err != nil {
		t.Fatal(err)
	}
	gs, err := c.ListAllDIDGroups(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

// TestPaginationParallel: with WithPageWorkers a listing fetches at most that many pages at
// once, and a resultCount too low, too high or absurd still lists every group, with at most
// the workers' pages fetched past the end.
func TestPaginationParallel(t *testing.T) {
	ctx := context.Background()
	const workers = 3
	e, base, opts, want := usGroups(t, 2)
	for name, count := range map[string]any{"exact": nil, "too low": 2, "too high": 1 << 40,
		"absurd": json.Number("9223372036854775807")} {
		t.Run(name, func(t *testing.T) {
			var inflight, peak atomic.Int32
			h := &lyingCount{e: e, edit: func(m map[string]any) {
				if count != nil {
					m["resultCount"] = count
				}
			}}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := inflight.Add(1)
				defer inflight.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			c, err := voxbone.New(voxbone.WithBaseURL(srv.URL+base), voxbone.WithPageWorkers(workers))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.ListAllDIDGroups(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			sameGroups(t, got, want)
			if p := peak.Load(); p > workers {
				t.Errorf("%d pages in flight at once, want at most %d", p, workers)
			}
			if n, most := int(h.pages.Load()), len(want)/2+1+workers; n > most {
				t.Errorf("%d page requests for %d groups, want at most %d", n, len(want), most)
			}
		})
	}
}

// sameGroups fails t unless got lists the groups of want, in order.
func sameGroups(t *testing.T, got, want []voxbone.DIDGroup) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("listed %d groups, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].DIDGroupID != want[i].DIDGroupID {
			t.Fatalf("group %d is %d, want %d", i, got[i].DIDGroupID, want[i].DIDGroupID)
		}
	}
}

// usGroups starts an emulator and lists its US groups directly, pageSize a page; base is
// the API's path on a server of the emulator.
func usGroups(t *testing.T, pageSize int) (e *emulator.Emulator, base string, opts voxbone.ListDIDGroupsOptions,
	want []voxbone.DIDGroup) {
	t.Helper()
	e = emulator.New(emulator.Config{})
	direct := httptest.NewServer(e)
	t.Cleanup(direct.Close)
	base = strings.TrimSuffix(emulator.BasePath, "/")
	opts = voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA", ListOptions: voxbone.ListOptions{PageSize: pageSize}}
	return e, base, opts, listGroups(t, context.Background(), direct.URL+base, opts)
}
