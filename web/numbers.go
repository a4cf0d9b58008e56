package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// Page sizes of the numbers table.
var pageSizes = []int{25, 50, 100, 200}

const defaultPageSize = 50

// numbersQuery is the numbers table's filter, sort and page, read from the URL.
type numbersQuery struct {
	State   string // "" for any
	Account string // "" for every account (admins) — else an account id
	Carrier string // module name, "" for any
	Prefix  string // as typed; Filter uses its E.164 form
	Sort    string // number, -number, state, -state
	Page    int    // from 1
	Size    int
	// After is where the previous page ended, when the page was reached by Next: the last
	// number shown, or "state:number" in state order. The page is then read from there
	// (keyset) instead of skipping Page-1 pages of rows.
	After string
	// Before is where the next page began, when the page was reached by Previous, and Last
	// asks for the last page: both read backwards from there (number orders only).
	Before string
	Last   bool
}

// readNumbersQuery validates the query string; a bad value is an invalid error naming it.
func readNumbersQuery(q url.Values, me *knm.Account) (numbersQuery, error) {
	nq := numbersQuery{State: q.Get("state"), Account: q.Get("account"), Carrier: q.Get("carrier"),
		Prefix: strings.TrimSpace(q.Get("prefix")), Sort: q.Get("sort"), Page: 1, Size: defaultPageSize,
		After: q.Get("after"), Before: q.Get("before"), Last: q.Get("last") == "1"}
	if nq.State != "" {
		if _, err := knm.ParseState(nq.State); err != nil {
			return nq, knm.Errorf(knm.ErrInvalid, "state must be one of %v", storedStates()).WithCause("state")
		}
	}
	if nq.Account == "" && !me.SuperduperAdmin {
		nq.Account = me.ID
	}
	if nq.Account != "" && !knm.ValidAccountID(nq.Account) {
		return nq, knm.Errorf(knm.ErrInvalid, "account must be an account id (32 hexadecimal characters)").
			WithCause("account")
	}
	if nq.Carrier != "" && (len(nq.Carrier) > 64 || strings.ContainsAny(nq.Carrier, " \t<>\"'")) {
		return nq, knm.Errorf(knm.ErrInvalid, "carrier must be a module name such as knm_voxbone").WithCause("carrier")
	}
	if _, err := e164Prefix(nq.Prefix); err != nil {
		return nq, err
	}
	switch nq.Sort {
	case "":
		nq.Sort = "number"
	case "number", "-number", "state", "-state":
	default:
		return nq, knm.Errorf(knm.ErrInvalid, "sort must be number, -number, state or -state").WithCause("sort")
	}
	var err error
	if nq.Page, err = positiveInt(q.Get("page"), 1, "page"); err != nil {
		return nq, err
	}
	if nq.Size, err = positiveInt(q.Get("size"), defaultPageSize, "size"); err != nil {
		return nq, err
	}
	if !slices.Contains(pageSizes, nq.Size) {
		return nq, knm.Errorf(knm.ErrInvalid, "size must be one of 25, 50, 100 or 200").WithCause("size")
	}
	if _, _, err := nq.cursor(); err != nil {
		return nq, err
	}
	return nq, nil
}

// cursor splits After: the state it is in (state order only) and the number. It is
// invalid unless the order is one that keyset pages support (number, or state without a
// state filter) and it is an E.164 number, preceded by a stored state in state order.
func (nq numbersQuery) cursor() (knm.State, string, error) {
	_, byNumber := nq.numberOrder()
	if (nq.Before != "" || nq.Last) && !byNumber {
		return "", "", knm.Errorf(knm.ErrInvalid, "before and last page only an order by number").WithCause("before")
	}
	if nq.Before != "" && !isE164(nq.Before) {
		return "", "", knm.Errorf(knm.ErrInvalid, "before must be where the next page began (a link's value)").
			WithCause("before")
	}
	if nq.After == "" {
		return "", "", nil
	}
	bad := knm.Errorf(knm.ErrInvalid, "after must be where the previous page ended (a link's value)").
		WithCause("after")
	st, num := "", nq.After
	switch {
	case nq.Sort == "state" && nq.State == "":
		var ok bool
		if st, num, ok = strings.Cut(nq.After, ":"); !ok || !slices.Contains(storedStates(), knm.State(st)) {
			return "", "", bad
		}
	case !byNumber:
		return "", "", bad
	}
	if !isE164(num) {
		return "", "", bad
	}
	return knm.State(st), num, nil
}

func isE164(num string) bool {
	return len(num) >= 2 && len(num) <= 16 && num[0] == '+' && strings.Trim(num[1:], "0123456789") == ""
}

// numberOrder reports whether the rows are in number order (ok) and which way: by number,
// or by state when one state is filtered.
func (nq numbersQuery) numberOrder() (desc, ok bool) {
	oneState := nq.State != ""
	switch {
	case nq.Sort == "number" || (nq.Sort == "state" && oneState):
		return false, true
	case nq.Sort == "-number" || (nq.Sort == "-state" && oneState):
		return true, true
	}
	return false, false
}

// next is the After of the page following rows.
func (nq numbersQuery) next(rows []*knm.Number) string {
	last := rows[len(rows)-1]
	if nq.Sort == "state" && nq.State == "" {
		return string(last.State) + ":" + last.Number
	}
	return last.Number
}

// pageLinks sets the Next, Previous and Last links of v: keyset links (after, before,
// last) where the order allows them, else page numbers.
func (v *numbersView) pageLinks(q numbersQuery) {
	_, byNumber := q.numberOrder()
	link := func(page int) url.Values {
		l := q.values()
		l.Set("page", strconv.Itoa(page))
		return l
	}
	if q.Page > 1 {
		v.Prev = link(q.Page - 1)
		if byNumber && len(v.Rows) > 0 && q.Page > 2 {
			v.Prev.Set("before", v.Rows[0].Number)
		}
	}
	if q.Page < v.Pages && len(v.Rows) > 0 {
		v.Next = link(q.Page + 1)
		if byNumber || (q.Sort == "state" && q.State == "") {
			v.Next.Set("after", q.next(v.Rows))
		}
		v.LastQ = link(v.Pages)
		if byNumber {
			v.LastQ.Set("last", "1")
		}
	}
}

func positiveInt(v string, def int, name string) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, knm.Errorf(knm.ErrInvalid, "%s must be a whole number from 1 to 1000000", name).WithCause(name)
	}
	return n, nil
}

// e164Prefix turns a typed prefix ("+1256", "1 256", "1256") into the E.164 prefix the
// store filters on; "" for none.
func e164Prefix(p string) (string, error) {
	p = strings.Join(
		strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == '-' || r == '(' || r == ')' }),
		"",
	)
	if p == "" {
		return "", nil
	}
	digits := strings.TrimPrefix(p, "+")
	if len(digits) == 0 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return "", knm.Errorf(knm.ErrInvalid, "prefix must be up to 15 digits, optionally after +, e.g. +1256").
			WithCause("prefix")
	}
	return "+" + digits, nil
}

// values is the query as URL values, for links that keep the filter.
func (nq numbersQuery) values() url.Values {
	v := url.Values{}
	fields := map[string]string{"state": nq.State, "account": nq.Account, "carrier": nq.Carrier, "prefix": nq.Prefix}
	for k, s := range fields {
		if s != "" {
			v.Set(k, s)
		}
	}
	if nq.Sort != "number" {
		v.Set("sort", nq.Sort)
	}
	if nq.Size != defaultPageSize {
		v.Set("size", strconv.Itoa(nq.Size))
	}
	return v
}

// numbersView is the numbers table's data.
type numbersView struct {
	Q        numbersQuery
	Rows     []*knm.Number
	Total    int
	Pages    int
	First    int // 1-based index of the first row shown
	Accounts []*knm.Account
	Names    map[string]string // account id -> name
	States   []knm.State
	Carriers []string
	Sizes    []int
	Base     url.Values // the query without page, for links
	Next     url.Values // the query of the next page, nil on the last
	Prev     url.Values // the query of the previous page, nil on the first
	LastQ    url.Values // the query of the last page, nil on it
	Errors   fieldErrors
}

// numbers is the numbers table: filter by state, account, carrier and prefix, sort by
// number or state, paged; the rows come from manager.List, so an account sees exactly
// what GET /v2/accounts/{A}/phone_numbers would show it.
func (s *Server) numbers(w http.ResponseWriter, r *http.Request, me *knm.Account) error {
	v := numbersView{States: storedStates(), Sizes: pageSizes, Carriers: s.moduleNames(r.Context())}
	accs, err := s.mgr.ListAccounts(r.Context(), me.ID)
	if err != nil {
		return err
	}
	v.Accounts, v.Names = accs, accountNames(accs)
	q, err := readNumbersQuery(r.URL.Query(), me)
	if err != nil {
		errs, ferr := fieldError(err, "state", "account", "carrier", "prefix", "sort", "page", "size", "after")
		if ferr != nil {
			return ferr
		}
		if _, ok := errs["prefix"]; !ok {
			errs = fieldErrors{"": errorText(err)} // the other fields are menus: say it above the form
		}
		v.Errors, v.Q = errs, numbersQuery{Sort: "number", Page: 1, Size: defaultPageSize}
		s.render(w, r, http.StatusBadRequest, "numbers", view{Title: "Numbers", Nav: "numbers", Me: me, Data: v})
		return nil
	}
	v.Q, v.Base = q, q.values()
	v.Rows, v.Total, err = s.numbersPage(r.Context(), me, q)
	if err != nil {
		return err
	}
	v.Pages = max((v.Total+q.Size-1)/q.Size, 1)
	v.First = (q.Page-1)*q.Size + 1
	v.pageLinks(q)
	s.render(w, r, http.StatusOK, "numbers", view{Title: "Numbers", Nav: "numbers", Me: me, Data: v})
	return nil
}

func accountNames(accs []*knm.Account) map[string]string {
	m := make(map[string]string, len(accs))
	for _, a := range accs {
		m[a.ID] = a.Name
	}
	return m
}

// numbersPage returns one page of the table and the total. The store orders by number
// only, so the other orders are built from it exactly: descending by number counts from
// the end, and by state walks the states in order with a count per state. A page reached
// by Next in number or state order is read from where the previous one ended (keyset).
func (s *Server) numbersPage(ctx context.Context, me *knm.Account, q numbersQuery) ([]*knm.Number, int, error) {
	prefix, _ := e164Prefix(q.Prefix)
	f := manager.ListFilter{Prefix: prefix, Module: q.Carrier}
	if q.State != "" {
		f.States = []knm.State{knm.State(q.State)}
	}
	if _, byNumber := q.numberOrder(); byNumber && (q.Page == 1 || q.After != "" || q.Before != "" || q.Last) {
		return s.numberKeyset(ctx, me, q, f)
	}
	if q.After != "" || (q.Page == 1 && q.Sort == "state" && q.State == "") {
		return s.keysetPage(ctx, me, q, f) // the first page in state order starts at no cursor
	}
	start := (q.Page - 1) * q.Size
	switch {
	case q.Sort == "number" || (q.State != "" && q.Sort == "state"):
		f.Offset, f.Limit = start, q.Size
		return s.mgr.List(ctx, me.ID, q.Account, f)
	case q.Sort == "-number" || q.State != "":
		return s.descending(ctx, me, q.Account, f, start, q.Size)
	}
	states := storedStates()
	desc := q.Sort == "-state"
	if desc {
		slices.Reverse(states)
	}
	var rows []*knm.Number
	total, seen := 0, 0
	for _, st := range states {
		f.States = []knm.State{st}
		n, err := s.mgr.Count(ctx, me.ID, q.Account, f)
		if err != nil {
			return nil, 0, err
		}
		total += n
		lo, hi := max(start-seen, 0), min(start+q.Size-seen, n) // rows of this state on the page
		seen += n
		if n == 0 || lo >= hi {
			continue
		}
		var part []*knm.Number
		if desc {
			part, _, err = s.descending(ctx, me, q.Account, f, lo, hi-lo)
		} else {
			g := f
			g.Offset, g.Limit = lo, hi-lo
			part, err = s.mgr.Page(ctx, me.ID, q.Account, g)
		}
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, part...)
	}
	return rows, total, nil
}

// numberKeyset returns a page in number order, either way, and the total, from the store's
// keyset pages (knm.ListOptions): forward after q.After (or from the start), backward
// before q.Before for Previous, backward from the end for Last (the rows the last page
// holds by page number), the backward pages turned round. One count gives the total.
func (s *Server) numberKeyset(
	ctx context.Context,
	me *knm.Account,
	q numbersQuery,
	f manager.ListFilter,
) ([]*knm.Number, int, error) {
	total, err := s.mgr.Count(ctx, me.ID, q.Account, f)
	if err != nil {
		return nil, 0, err
	}
	desc, _ := q.numberOrder()
	forward, backward := knm.SortByNumber, knm.SortByNumberDesc
	if desc {
		forward, backward = backward, forward
	}
	o := knm.ListOptions{Sort: forward, After: q.After, Limit: q.Size}
	switch {
	case q.Last:
		o = knm.ListOptions{Sort: backward, Limit: total - (max((total+q.Size-1)/q.Size, 1)-1)*q.Size}
	case q.Before != "":
		o = knm.ListOptions{Sort: backward, After: q.Before, Limit: q.Size}
	}
	if o.Limit < 1 {
		return nil, total, nil
	}
	page, err := s.mgr.ListPage(ctx, me.ID, q.Account, f, o)
	if o.Sort == backward {
		slices.Reverse(page.Numbers)
	}
	return page.Numbers, total, err
}

// keysetPage returns the page after q.After in state order and the total: the rest of the
// cursor's state and then the next states from their first number, until the page is
// full. One count gives the total.
func (s *Server) keysetPage(
	ctx context.Context,
	me *knm.Account,
	q numbersQuery,
	f manager.ListFilter,
) ([]*knm.Number, int, error) {
	total, err := s.mgr.Count(ctx, me.ID, q.Account, f)
	if err != nil {
		return nil, 0, err
	}
	st, after, _ := q.cursor()
	states := storedStates()
	if st == "" {
		st = states[0]
	}
	var rows []*knm.Number
	for _, state := range states[slices.Index(states, st):] {
		f.States = []knm.State{state}
		part, err := s.mgr.ListPage(ctx, me.ID, q.Account, f,
			knm.ListOptions{Sort: knm.SortByNumber, After: after, Limit: q.Size - len(rows)})
		if err != nil {
			return nil, 0, err
		}
		rows, after = append(rows, part.Numbers...), ""
		if len(rows) == q.Size {
			break
		}
	}
	return rows, total, nil
}

// descending returns rows [start, start+size) of f in descending number order.
func (s *Server) descending(
	ctx context.Context,
	me *knm.Account,
	account string,
	f manager.ListFilter,
	start, size int,
) ([]*knm.Number, int, error) {
	total, err := s.mgr.Count(ctx, me.ID, account, f)
	if err != nil {
		return nil, 0, err
	}
	end := total - start // exclusive, in ascending positions
	if end <= 0 {
		return nil, total, nil
	}
	f.Offset = max(end-size, 0)
	f.Limit = end - f.Offset
	rows, err := s.mgr.Page(ctx, me.ID, account, f)
	slices.Reverse(rows)
	return rows, total, err
}

// moduleNames are the carrier modules a filter or a setting can name: the registered
// ones, and the modules carrier_modules lists.
func (s *Server) moduleNames(ctx context.Context) []string {
	var names []string
	if s.registry != nil {
		names = s.registry.Names()
	}
	if mods, err := s.mgr.SelectCarriers(ctx, "", ""); err == nil {
		for _, m := range mods {
			if !slices.Contains(names, m) {
				names = append(names, m)
			}
		}
	}
	slices.Sort(names)
	return names
}

// storedStates are the states a stored number can be in (deleted only marks a number
// being deleted).
func storedStates() []knm.State {
	return slices.DeleteFunc(slices.Clone(knm.States), func(s knm.State) bool { return s == knm.StateDeleted })
}
