package web

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

var (
	rowNumber = regexp.MustCompile(`<a class="e164" href="/numbers/[^"]+">([^<]+)</a>`)
	nextLink  = regexp.MustCompile(`href="(/numbers\?[^"]+)" rel="next"`)
	// afterParam is the cursor in a Next link, HTML-unescaped (url.Values puts it first).
	afterParam = regexp.MustCompile(`after=[^&]*&?`)
)

// walk follows the Next links from path and returns every number listed, page by page,
// and the links followed.
func (b *browser) walk(t *testing.T, path string) (nums, links []string) {
	t.Helper()
	for range 20 {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, p.status, p.body)
		}
		for _, m := range rowNumber.FindAllStringSubmatch(p.body, -1) {
			nums = append(nums, m[1])
		}
		m := nextLink.FindStringSubmatch(p.body)
		if m == nil {
			return nums, links
		}
		path = m[1]
		links = append(links, path)
	}
	t.Fatal("more than 20 pages")
	return nil, nil
}

// TestNumbersNextPagesAreKeyset: Next continues where the page ended (an after cursor, by
// number and by state, either way, across states), every number is listed once, in the
// order the page numbers give; Last and Previous read backwards and list what the page
// numbers give; a forged cursor is refused.
func TestNumbersNextPagesAreKeyset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	states := []knm.State{knm.StateInService, knm.StateAvailable, knm.StateReserved}
	var all []*knm.Number
	for i := range 70 {
		st := states[i%len(states)]
		owner := e.masterID
		if st == knm.StateAvailable {
			owner = ""
		}
		num := fmt.Sprintf("+1415555%04d", i)
		e.number(num, st, owner)
		all = append(all, &knm.Number{Number: num, State: st})
	}
	b := e.browser()
	b.signIn(e.masterKey)
	byState := slices.Clone(all)
	order := storedStates()
	slices.SortStableFunc(byState, func(x, y *knm.Number) int {
		return slices.Index(order, x.State) - slices.Index(order, y.State)
	})
	descending := reversed(all)
	for _, c := range []struct {
		path string
		want []*knm.Number
	}{
		{"/numbers?size=25", all},
		{"/numbers?size=25&sort=-number", descending},
		{"/numbers?size=25&sort=state", byState},
		{"/numbers?size=25&sort=-state", reversed(byState)},
	} {
		got, links := b.walk(t, c.path)
		var want []string
		for _, n := range c.want {
			want = append(want, n.Number)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: listed %v, want %v", c.path, got, want)
		}
		if len(links) != 2 {
			t.Fatalf("%s: followed %v, want 2 Next links", c.path, links)
		}
		for i, l := range links {
			if !strings.Contains(l, fmt.Sprintf("page=%d", i+2)) || !strings.Contains(l, "after=") {
				t.Errorf("%s: Next link %q is not a keyset link to page %d", c.path, l, i+2)
			}
			// The page by its number (offset) lists the same rows as the keyset page.
			byPage := afterParam.ReplaceAllString(l, "")
			kp, op := b.get(l), b.get(byPage)
			if k, o := rowNumber.FindAllString(kp.body, -1), rowNumber.FindAllString(op.body, -1); !slices.Equal(k, o) {
				t.Errorf("%s and %s list different rows", l, byPage)
			}
		}
	}
	for _, sort := range []string{"number", "-number", "state", "-state"} {
		b.lastAndPrevious(t, "/numbers?size=25&sort="+sort)
	}
	for _, bad := range []string{"after=x", "after=%2B1415%3B", "sort=state&after=%2B14155550001",
		"sort=state&after=nowhere:%2B14155550001", "sort=-state&after=%2B14155550001", "before=x",
		"sort=state&before=%2B14155550001", "sort=price&last=1", "sort=-state&state=available&after=in_service:x"} {
		if p := b.get("/numbers?" + bad); p.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, p.status)
		}
	}
}

var (
	prevLink = regexp.MustCompile(`href="(/numbers\?[^"]+)" rel="prev"`)
	lastLink = regexp.MustCompile(`href="(/numbers\?[^"]*last=1[^"]*)"`)
)

// lastAndPrevious follows Last from the first page and Previous from there: both are
// keyset links (last, before) and list what the same pages by their number list.
func (b *browser) lastAndPrevious(t *testing.T, first string) {
	t.Helper()
	rows := func(path string) []string {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.status)
		}
		return rowNumber.FindAllString(p.body, -1)
	}
	m := lastLink.FindStringSubmatch(b.get(first).body)
	if m == nil {
		t.Fatalf("%s: no keyset Last link", first)
	}
	last := m[1]
	if got, want := rows(last), rows(first+"&page=3"); !slices.Equal(got, want) || len(got) != 20 {
		t.Errorf("%s lists %d rows %v, page 3 %v", last, len(got), got, want)
	}
	m = prevLink.FindStringSubmatch(b.get(last).body)
	if m == nil || !strings.Contains(m[1], "before=") {
		t.Fatalf("%s: no keyset Previous link (%v)", last, m)
	}
	if got, want := rows(m[1]), rows(first+"&page=2"); !slices.Equal(got, want) || len(got) != 25 {
		t.Errorf("%s lists %v, page 2 %v", m[1], got, want)
	}
}

func reversed(ns []*knm.Number) []*knm.Number {
	out := slices.Clone(ns)
	slices.Reverse(out)
	return out
}
