package httpapi

import (
	"net/url"
	"slices"
	"testing"

	"github.com/knmproject/knm"
)

// listingReply is the listing's data and paging keys.
type listingReply struct {
	Numbers         map[string]map[string]any `json:"numbers"`
	CascadeQuantity int                       `json:"cascade_quantity"`
	next            string
}

func (f *kazooRoutesFixture) list(t *testing.T, tok, acc, query string) listingReply {
	t.Helper()
	r := f.e.do("GET", "/v2/accounts/"+acc+"/phone_numbers?"+query, tok, nil)
	if r.Status != 200 {
		t.Fatalf("list %s: %d %s", query, r.Status, r.Raw)
	}
	var l listingReply
	r.data(t, &l)
	l.next = r.str("next_start_key")
	return l
}

func keysOf(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestListingFilters: filter_state as a value or as the JSON list Monster UI sends,
// filter_assigned_to, cascade and cascade_quantity (the numbers of the descendants).
func TestListingFilters(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	for i, st := range []knm.State{knm.StateInService, knm.StatePortIn, knm.StateReserved} {
		f.put(t, &knm.Number{Number: "+1415555070" + string(rune('1'+i)), State: st, AssignedTo: f.reseller,
			ModuleName: "knm_local"})
	}
	f.put(t, &knm.Number{Number: "+14155550711", State: knm.StateInService, AssignedTo: f.cust, ModuleName: "knm_local"})
	f.put(t, &knm.Number{Number: "+14155550712", State: knm.StateInService, AssignedTo: f.cust, ModuleName: "knm_local"})

	l := f.list(t, f.rtok, f.reseller, "filter_state="+url.QueryEscape(`["in_service","port_in"]`))
	if got := keysOf(l.Numbers); !slices.Equal(got, []string{"+14155550701", "+14155550702"}) || l.CascadeQuantity != 2 {
		t.Fatalf("JSON list filter: %v, cascade_quantity %d", got, l.CascadeQuantity)
	}
	if got := keysOf(f.list(t, f.rtok, f.reseller, "filter_state=reserved").Numbers); !slices.Equal(got,
		[]string{"+14155550703"}) {
		t.Fatalf("value filter: %v", got)
	}
	if got := keysOf(f.list(t, f.rtok, f.reseller, "filter_state=%22reserved%22").Numbers); len(got) != 1 {
		t.Fatalf("JSON string filter: %v", got)
	}
	l = f.list(t, f.rtok, f.reseller, "cascade=true")
	if len(l.Numbers) != 5 || l.Numbers["+14155550711"]["assigned_to"] != f.cust {
		t.Fatalf("cascade: %v", keysOf(l.Numbers))
	}
	if got := keysOf(f.list(t, f.rtok, f.reseller, "cascade=true&filter_assigned_to="+f.cust).Numbers); !slices.Equal(got,
		[]string{"+14155550711", "+14155550712"}) {
		t.Fatalf("cascade with filter_assigned_to: %v", got)
	}
	if got := f.list(t, f.rtok, f.reseller, "filter_assigned_to="+f.cust).Numbers; len(got) != 0 {
		t.Fatalf("filter_assigned_to without cascade lists the descendant's numbers: %v", keysOf(got))
	}
	if l := f.list(t, f.ctok, f.cust, ""); len(l.Numbers) != 2 || l.CascadeQuantity != 0 {
		t.Fatalf("customer: %v %d", keysOf(l.Numbers), l.CascadeQuantity)
	}
	for _, bad := range []string{"filter_state=%5B%22in_service%22", "filter_state=%5B%5D", "filter_state=bogus",
		"filter_assigned_to=x", "cascade=yes", "start_key=abc", "filter_used_by=callflow",
		"offset=2"} {
		wantError(t, f.e.do("GET", "/v2/accounts/"+f.reseller+"/phone_numbers?"+bad, f.rtok, nil), 400)
	}
	wantError(t, f.e.do("GET", "/v2/accounts/"+f.reseller+"/phone_numbers?cascade=true", f.ctok, nil), 403)
}

// TestListingStartKey pages with start_key/next_start_key while numbers are added: each
// number present throughout is listed once, a number added behind the cursor is not
// listed and one added ahead of it is.
func TestListingStartKey(t *testing.T) {
	t.Parallel()
	f := newKazooRoutesFixture(t)
	var want []string
	for i := range 7 {
		num := "+1415555080" + string(rune('0'+i))
		want = append(want, num)
		f.put(t, &knm.Number{Number: num, State: knm.StateInService, AssignedTo: f.cust, ModuleName: "knm_local"})
	}
	var got []string
	query := "page_size=3"
	for page := 0; ; page++ {
		l := f.list(t, f.ctok, f.cust, query)
		if len(l.Numbers) > 3 {
			t.Fatalf("page of %d", len(l.Numbers))
		}
		got = append(got, keysOf(l.Numbers)...)
		if l.next == "" {
			break
		}
		if page == 0 {
			f.put(t, &knm.Number{Number: "+14155550800" + "0", State: knm.StateInService, AssignedTo: f.cust,
				ModuleName: "knm_local"}) // +141555508000 sorts behind the cursor
			f.put(t, &knm.Number{Number: "+14155550809", State: knm.StateInService, AssignedTo: f.cust,
				ModuleName: "knm_local"})
			want = append(want, "+14155550809")
		}
		query = "page_size=3&start_key=" + url.QueryEscape(l.next)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages: %v, want %v", got, want)
	}
}
