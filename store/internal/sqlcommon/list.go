package sqlcommon

import (
	"context"

	"github.com/knmproject/knm"
)

// ListNumbers is both backends' knm.NumberStore.ListNumbers over their FindNumbers: the
// keyset is the primary key, so a page is an index range scan after o.After (below it,
// read backwards, in descending order), and one row more than the page tells whether
// another page follows.
func ListNumbers(ctx context.Context, find func(context.Context, knm.NumberFilter) ([]*knm.Number, error),
	f knm.NumberFilter, o knm.ListOptions) (knm.NumberPage, error) {
	switch {
	case o.Sort != "" && o.Sort != knm.SortByNumber && o.Sort != knm.SortByNumberDesc:
		return knm.NumberPage{}, knm.Errorf(knm.ErrInvalid, "numbers cannot be sorted by %q", o.Sort)
	case o.Limit < 1:
		return knm.NumberPage{}, knm.Errorf(knm.ErrInvalid, "a page holds at least one number")
	}
	f.After, f.Before, f.Descending, f.Offset, f.Limit = o.After, "", false, 0, o.Limit+1
	if o.Sort == knm.SortByNumberDesc {
		f.After, f.Before, f.Descending = "", o.After, true
	}
	ns, err := find(ctx, f)
	if err != nil {
		return knm.NumberPage{}, err
	}
	if len(ns) <= o.Limit {
		return knm.NumberPage{Numbers: ns}, nil
	}
	ns = ns[:o.Limit]
	return knm.NumberPage{Numbers: ns, Next: ns[len(ns)-1].Number}, nil
}
