package voxbone

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// ListOptions selects one page of a paginated list. PageNumber is 0-based; PageSize zero
// means the client's page size (WithPageSize, default 20).
type ListOptions struct {
	PageNumber int
	PageSize   int
}

// pageQuery validates o and returns a query holding pageNumber and pageSize.
func (c *Client) pageQuery(o ListOptions) (url.Values, ListOptions, error) {
	if o.PageNumber < 0 {
		return nil, o, fmt.Errorf("page number %d is negative", o.PageNumber)
	}
	if o.PageSize == 0 {
		o.PageSize = c.pageSize
	}
	if o.PageSize < 1 || o.PageSize > MaxPageSize {
		return nil, o, fmt.Errorf("page size %d out of range 1..%d", o.PageSize, MaxPageSize)
	}
	q := url.Values{}
	q.Set("pageNumber", strconv.Itoa(o.PageNumber))
	q.Set("pageSize", strconv.Itoa(o.PageSize))
	return q, o, nil
}

// MaxPages is the most pages one listing follows: a server that keeps answering full pages
// (a bug, or a list growing as fast as it is read) cannot loop forever.
const MaxPages = 10000

// pageFetch loads one page of a listing and returns its items and resultCount.
type pageFetch[T any] func(context.Context, ListOptions) ([]T, int, error)

// pageOf adapts a one-page call to a pageFetch: each page is the call with opts on that page.
// O is an options struct that embeds ListOptions.
func pageOf[T, O any, PO interface {
	*O
	setPage(ListOptions)
}](opts O, list func(context.Context, O) ([]T, int, error)) pageFetch[T] {
	return func(ctx context.Context, lo ListOptions) ([]T, int, error) {
		o := opts
		PO(&o).setPage(lo)
		return list(ctx, o)
	}
}

// setPage makes the options of a listing ask for page lo; every options struct that embeds
// ListOptions has it.
func (o *ListOptions) setPage(lo ListOptions) { *o = lo }

// errTooManyPages is the error of a listing cut off at MaxPages.
var errTooManyPages = fmt.Errorf("voxbone: listing still returns full pages after %d pages; giving up", MaxPages)

// paginate yields every item from page start on, following pages until one comes back
// empty or short (fewer items than the page size), or the server says the page does not
// exist (code 13 PAGINATION_OVERFLOW). resultCount is only a hint and never ends the
// listing: a wrong or missing count (decoded as 0) must not silently drop pages, at the
// price of one more request when the last page happens to be full. At most MaxPages pages
// are fetched; beyond that the listing fails. fetch gets the page to load; the sequence
// stops at the first error, which it yields with a zero item.
func paginate[T any](ctx context.Context, c *Client, start ListOptions, fetch pageFetch[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		o := start
		if o.PageSize == 0 {
			o.PageSize = c.pageSize
		}
		for pages := 0; ; pages++ {
			if pages >= MaxPages {
				var zero T
				yield(zero, errTooManyPages)
				return
			}
			items, _, err := fetch(ctx, o)
			if err != nil {
				if o.PageNumber > start.PageNumber && HasCode(err, CodePaginationOverflow) {
					return // the previous page was the last one after all
				}
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if len(items) == 0 || len(items) < o.PageSize {
				return
			}
			o.PageNumber++
		}
	}
}

// collect drains seq into a slice, stopping at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var all []T
	for it, err := range seq {
		if err != nil {
			return all, err
		}
		all = append(all, it)
	}
	return all, nil
}

// collectPages returns every item of a listing, fetching up to c.pageWorkers pages at once
// (see WithPageWorkers). The first page's resultCount says how many pages to fetch in
// parallel; it is only a hint, as for paginate: no page is started after a short, empty or
// overflowing one, and when the expected pages were all full the next ones are fetched one
// at a time until a short one, MaxPages at most.
func collectPages[T any](ctx context.Context, c *Client, start ListOptions, fetch pageFetch[T]) ([]T, error) {
	if c.pageWorkers <= 1 {
		return collect(paginate(ctx, c, start, fetch))
	}
	if start.PageSize == 0 {
		start.PageSize = c.pageSize
	}
	first, total, err := fetch(ctx, start)
	if err != nil || len(first) < start.PageSize {
		return first, err
	}
	l := &pageList[T]{pages: map[int][]T{0: first}, size: start.PageSize, next: 1,
		end: expectedPages(total, start.PageSize)}
	load := func(p int) ([]T, error) { // p counts from start.PageNumber
		o := start
		o.PageNumber += p
		items, _, err := fetch(ctx, o)
		if HasCode(err, CodePaginationOverflow) {
			return nil, nil // past the end
		}
		return items, err
	}
	var wg sync.WaitGroup
	for range min(c.pageWorkers, l.end-1) {
		wg.Go(func() {
			for p, ok := l.claim(); ok; p, ok = l.claim() {
				items, err := load(p)
				l.done(p, items, err)
			}
		})
	}
	wg.Wait()
	if l.err != nil {
		return nil, l.err
	}
	for p := l.end; !l.short; p++ { // the count was too low: one page at a time
		if p >= MaxPages {
			return nil, errTooManyPages
		}
		items, err := load(p)
		if err != nil {
			return nil, err
		}
		l.done(p, items, nil)
	}
	return l.items(), nil
}

// expectedPages is how many pages resultCount announces, at least 2 (the first page was
// full) and at most MaxPages.
func expectedPages(total, size int) int {
	n := total/size + min(total%size, 1)
	return min(max(n, 2), MaxPages)
}

// pageList gathers the pages of one listing fetched by several workers.
type pageList[T any] struct {
	mu    sync.Mutex
	pages map[int][]T
	size  int  // the page size: a page with fewer items is the last
	next  int  // the next page to fetch
	end   int  // pages from end on are not fetched in parallel
	short bool // a short, empty or overflowing page was seen: the listing ends there
	err   error
}

// claim returns the next page to fetch, or false when there is none.
func (l *pageList[T]) claim() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next >= l.end || l.err != nil {
		return 0, false
	}
	l.next++
	return l.next - 1, true
}

// done records page p.
func (l *pageList[T]) done(p int, items []T, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.err = err
	case len(items) < l.size:
		l.short = true
		l.end = min(l.end, p+1)
	}
	l.pages[p] = items
}

// items joins the pages in order, up to the first short one; pages fetched past it are
// past the end.
func (l *pageList[T]) items() []T {
	var all []T
	for p := 0; ; p++ {
		all = append(all, l.pages[p]...)
		if len(l.pages[p]) < l.size {
			return all
		}
	}
}

// setInt sets key to *v when v is non-nil.
func setInt(q url.Values, key string, v *int) {
	if v != nil {
		q.Set(key, strconv.Itoa(*v))
	}
}

// setBool sets key to "true" or "false" when v is non-nil.
func setBool(q url.Values, key string, v *bool) {
	if v != nil {
		q.Set(key, strconv.FormatBool(*v))
	}
}

// setString sets key to v when v is non-empty.
func setString(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}

// addInts repeats key once per id, the form the API documents for multi-valued filters.
func addInts(q url.Values, key string, ids []int) {
	for _, id := range ids {
		q.Add(key, strconv.Itoa(id))
	}
}

// Ptr returns a pointer to v, for the optional fields of options structs.
func Ptr[T any](v T) *T { return &v }

// FlexBool is a bool that also decodes from the strings "true" and "false", because some
// DID fields (dnisEnabled, t38Enabled, dtmfInbandMute) are booleans sent as JSON strings.
// It always encodes as a JSON bool.
type FlexBool bool

// UnmarshalJSON accepts true, false, "true", "false" (any case), "" and null.
func (b *FlexBool) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if s == "null" {
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(uq)
		if s == "" {
			*b = false
			return nil
		}
	}
	v, err := strconv.ParseBool(strings.ToLower(s))
	if err != nil {
		return fmt.Errorf("voxbone: %s is not a boolean", data)
	}
	*b = FlexBool(v)
	return nil
}

// MarshalJSON encodes b as a JSON bool.
func (b FlexBool) MarshalJSON() ([]byte, error) { return json.Marshal(bool(b)) }
