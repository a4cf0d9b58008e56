package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/knmproject/knm"
)

// testListNumbersPages walks a filtered listing page by page: pages follow each other
// without gap or repeat, Next is "" on the last page only, and a page size that divides
// the rows exactly ends with a full page and then no further one.
func testListNumbersPages(t *testing.T, s knm.Store) {
	ctx := context.Background()
	owner, other := accountID(1), accountID(2)
	var want []string
	for i := range 30 {
		num := fmt.Sprintf("+1303555%04d", i*3)
		n := &knm.Number{Number: num, State: knm.StateInService, ModuleName: "knm_local", AssignedTo: owner}
		if i%5 == 0 {
			n.AssignedTo = other
		} else {
			want = append(want, num)
		}
		must(t, s.CreateNumber(ctx, n), "create "+num)
	}
	for _, size := range []int{1, 7, 24, 100} {
		var got []string
		pages := 0
		o := knm.ListOptions{Limit: size}
		for {
			page, err := s.ListNumbers(ctx, knm.NumberFilter{AssignedTo: &owner}, o)
			must(t, err, "list")
			pages++
			got = append(got, numbersOf(page.Numbers)...)
			if page.Next == "" {
				break
			}
			if len(page.Numbers) != size || page.Next != page.Numbers[len(page.Numbers)-1].Number {
				t.Fatalf("size %d: a page before the last holds %d, next %q", size, len(page.Numbers), page.Next)
			}
			o.After = page.Next
		}
		equal(t, fmt.Sprintf("pages of %d", size), got, want)
		if wantPages := (len(want) + size - 1) / size; pages != wantPages {
			t.Errorf("size %d: %d pages, want %d", size, pages, wantPages)
		}
	}
	testListNumbersDescending(t, s, owner, want)
	any, err := s.ListNumbers(ctx, knm.NumberFilter{AssignedToAny: []string{owner, other}},
		knm.ListOptions{Sort: knm.SortByNumber, Limit: 100})
	must(t, err, "list owners")
	if len(any.Numbers) != 30 || any.Next != "" {
		t.Errorf("AssignedToAny: %d numbers, next %q", len(any.Numbers), any.Next)
	}
	for _, o := range []knm.ListOptions{{Sort: "created", Limit: 1}, {Limit: 0}} {
		if _, err := s.ListNumbers(ctx, knm.NumberFilter{}, o); !knm.IsErrorName(err, knm.ErrInvalid) {
			t.Errorf("ListNumbers(%+v) = %v, want invalid", o, err)
		}
	}
}

// testListNumbersUnderWrites changes the numbers between pages: a number created before
// the cursor is not shown, one created after it is, one deleted after it is not, and every
// number present for the whole walk is shown exactly once, where offset paging would
// repeat or skip rows.
func testListNumbersUnderWrites(t *testing.T, s knm.Store) {
	ctx := context.Background()
	var stable []string
	for i := range 20 {
		num := fmt.Sprintf("+1720555%04d", 10+i*10)
		stable = append(stable, num)
		must(t, s.CreateNumber(ctx, &knm.Number{Number: num, State: knm.StateAvailable, ModuleName: "knm_local"}),
			"create "+num)
	}
	doomed := "+17205550205"
	must(t, s.CreateNumber(ctx, &knm.Number{Number: doomed, State: knm.StateAvailable, ModuleName: "knm_local"}),
		"create doomed")
	f := knm.NumberFilter{Prefix: "+1720"}
	var got []string
	o := knm.ListOptions{Limit: 6}
	for round := 0; ; round++ {
		page, err := s.ListNumbers(ctx, f, o)
		must(t, err, "list")
		got = append(got, numbersOf(page.Numbers)...)
		if page.Next == "" {
			break
		}
		o.After = page.Next
		if round == 0 {
			// Before the cursor: never shown. After it: shown once. Deleted: gone.
			for _, num := range []string{"+17205550005", "+17205550155"} {
				must(t, s.CreateNumber(ctx, &knm.Number{Number: num, State: knm.StateAvailable,
					ModuleName: "knm_local"}), "create "+num)
			}
			n, err := s.GetNumber(ctx, doomed)
			must(t, err, "get doomed")
			must(t, s.DeleteNumber(ctx, doomed, n.Rev), "delete doomed")
		}
	}
	want := append(slices.Clone(stable), "+17205550155")
	slices.Sort(want)
	equal(t, "listing under writes", got, want)
}

// testListNumbersDescending walks the same numbers highest first, in pages of several
// sizes, and checks a descending page inside a state and a prefix.
func testListNumbersDescending(t *testing.T, s knm.Store, owner string, ascending []string) {
	t.Helper()
	ctx := context.Background()
	want := slices.Clone(ascending)
	slices.Reverse(want)
	for _, size := range []int{1, 7, 100} {
		var got []string
		o := knm.ListOptions{Sort: knm.SortByNumberDesc, Limit: size}
		for range len(want) + 1 {
			page, err := s.ListNumbers(ctx, knm.NumberFilter{AssignedTo: &owner}, o)
			must(t, err, "list descending")
			got = append(got, numbersOf(page.Numbers)...)
			if page.Next == "" {
				break
			}
			o.After = page.Next
		}
		equal(t, fmt.Sprintf("descending pages of %d", size), got, want)
	}
	page, err := s.ListNumbers(ctx, knm.NumberFilter{AssignedTo: &owner, States: []knm.State{knm.StateInService},
		Prefix: "+130355500"}, knm.ListOptions{Sort: knm.SortByNumberDesc, After: want[len(want)-3], Limit: 5})
	must(t, err, "descending within a prefix")
	equal(t, "below the third lowest, highest first", numbersOf(page.Numbers), []string{want[len(want)-2],
		want[len(want)-1]})
}
