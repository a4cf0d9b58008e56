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
	if err := nq.checkCursors(); err != nil {
		return nq, err
	}
	return nq, nil
}

// checkCursors validates After, Before and Last: they apply to the orders read by keyset
// (by number either way, by state either way without a state filter), and a cursor is a
// row's key in that order (keyOf).
func (nq numbersQuery) checkCursors() error {
	if (nq.After != "" || nq.Before != "" || nq.Last) && !nq.keyed() {
		return knm.Errorf(knm.ErrInvalid, "after, before and last page only the orders by number or by state").
			WithCause("after")
	}
	for name, k := range map[string]string{"after": nq.After, "before": nq.Before} {
		if _, _, ok := nq.parseKey(k); k != "" && !ok {
			return knm.Errorf(knm.ErrInvalid, "%s must be where a page ended or began (a link's value)", name).
				WithCause(name)
		}
	}
	return nil
}

// keyOf is a row's cursor in the query's order: its number, or "state:number" in state
// order.
func (nq numbersQuery) keyOf(n *knm.Number) string {
	if _, byState := nq.stateOrder(); byState {
		return string(n.State) + ":" + n.Number
	}
	return n.Number
}

// parseKey splits a cursor into its state ("" in number order) and number.
func (nq numbersQuery) parseKey(k string) (knm.State, string, bool) {
	st, num := "", k
	if _, byState := nq.stateOrder(); byState {
		var ok bool
		if st, num, ok = strings.Cut(k, ":"); !ok || !slices.Contains(storedStates(), knm.State(st)) {
			return "", "", false
		}
	}
	return knm.State(st), num, isE164(num)
}

// stateOrder reports whether the rows are in state order (ok), states in their order and
// numbers ascending within each, or the exact reverse (desc).
func (nq numbersQuery) stateOrder() (desc, ok bool) {
	if nq.State != "" || (nq.Sort != "state" && nq.Sort != "-state") {
		return false, false
	}
	return nq.Sort == "-state", true
}

// keyed reports whether the order is read by keyset.
func (nq numbersQuery) keyed() bool {
	_, byNumber := nq.numberOrder()
	_, byState := nq.stateOrder()
	return byNumber || byState
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

// pageLinks sets the Next, Previous and Last links of v: keyset links (after, before,
// last) where the order allows them, else page numbers.
func (v *numbersView) pageLinks(q numbersQuery) {
	link := func(page int) url.Values {
		l := q.values()
		l.Set("page", strconv.Itoa(page))
		return l
	}
	if q.Page > 1 {
		v.Prev = link(q.Page - 1)
		if q.keyed() && len(v.Rows) > 0 && q.Page > 2 {
			v.Prev.Set("before", q.keyOf(v.Rows[0]))
		}
	}
	if q.Page < v.Pages && len(v.Rows) > 0 {
		v.Next, v.LastQ = link(q.Page+1), link(v.Pages)
		if q.keyed() {
			v.Next.Set("after", q.keyOf(v.Rows[len(v.Rows)-1]))
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

// numbersPage returns one page of the table and the total. The first page and every page
// reached by a link (Next, Previous, Last) is a keyset read from where the page shown
// ended or began, so it costs what the first page does; a page typed by its number is
// skipped to by offset (descending by number counting from the end, by state walking the
// states with a count per state).
func (s *Server) numbersPage(ctx context.Context, me *knm.Account, q numbersQuery) ([]*knm.Number, int, error) {
	prefix, _ := e164Prefix(q.Prefix)
	f := manager.ListFilter{Prefix: prefix, Module: q.Carrier}
	if q.State != "" {
		f.States = []knm.State{knm.State(q.State)}
	}
	if q.keyed() && (q.Page == 1 || q.After != "" || q.Before != "" || q.Last) {
		if _, byNumber := q.numberOrder(); byNumber {
			return s.numberKeyset(ctx, me, q, f)
		}
		return s.stateKeyset(ctx, me, q, f)
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

// stateKeyset returns a page in state order, either way, and the total: forward from
// q.After (or from the start), backward from q.Before for Previous or from the end for
// Last, the backward pages turned round. One count gives the total.
func (s *Server) stateKeyset(
	ctx context.Context,
	me *knm.Account,
	q numbersQuery,
	f manager.ListFilter,
) ([]*knm.Number, int, error) {
	total, err := s.mgr.Count(ctx, me.ID, q.Account, f)
	if err != nil {
		return nil, 0, err
	}
	desc, _ := q.stateOrder()
	ascending, key, limit := !desc, q.After, q.Size
	backward := q.Before != "" || q.Last
	if backward {
		ascending, key = desc, q.Before
		if q.Last {
			key, limit = "", total-(max((total+q.Size-1)/q.Size, 1)-1)*q.Size
		}
	}
	rows, err := s.stateWalk(ctx, me, q, f, ascending, key, limit)
	if backward {
		slices.Reverse(rows)
	}
	return rows, total, err
}

// stateWalk reads up to limit rows in state order (ascending) or its reverse, after the
// cursor key ("" from the start): the rest of the key's state, then the next states whole,
// each a keyset read of the store.
func (s *Server) stateWalk(ctx context.Context, me *knm.Account, q numbersQuery, f manager.ListFilter,
	ascending bool, key string, limit int) ([]*knm.Number, error) {
	states, sort := storedStates(), knm.SortByNumber
	if !ascending {
		slices.Reverse(states)
		sort = knm.SortByNumberDesc
	}
	st, after, _ := q.parseKey(key)
	if key == "" {
		st = states[0]
	}
	var rows []*knm.Number
	for _, state := range states[slices.Index(states, st):] {
		if len(rows) >= limit {
			break
		}
		f.States = []knm.State{state}
		part, err := s.mgr.ListPage(ctx, me.ID, q.Account, f,
			knm.ListOptions{Sort: sort, After: after, Limit: limit - len(rows)})
		if err != nil {
			return nil, err
		}
		rows, after = append(rows, part.Numbers...), ""
	}
	return rows, nil
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
