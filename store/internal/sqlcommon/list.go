package sqlcommon

import (
	"context"

	"github.com/knmproject/knm"
)

// ListNumbers is both backends' knm.NumberStore.ListNumbers over their FindNumbers: the
// keyset is the primary key, so a page is an index range scan after o.After, and one row
// more than the page tells whether another page follows.
func ListNumbers(ctx context.Context, find func(context.Context, knm.NumberFilter) ([]*knm.Number, error),
	f knm.NumberFilter, o knm.ListOptions) (knm.NumberPage, error) {
	switch {
	case o.Sort != "" && o.Sort != knm.SortByNumber:
		return knm.NumberPage{}, knm.Errorf(knm.ErrInvalid, "numbers cannot be sorted by %q", o.Sort)
	case o.Limit < 1:
		return knm.NumberPage{}, knm.Errorf(knm.ErrInvalid, "a page holds at least one number")
	}
	f.After, f.Offset, f.Limit = o.After, 0, o.Limit+1
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
