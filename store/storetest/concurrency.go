package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/knmproject/knm"
)

// testConcurrentMove is the race every knm instance runs when many customers buy the
// same available number at once: all read it, all try to move it to in_service for
// themselves, and exactly one may win.
func testConcurrentMove(t *testing.T, s knm.Store) {
	const racers = 50
	ctx := context.Background()
	must(t, s.CreateNumber(ctx, &knm.Number{Number: "+14155550100", State: knm.StateAvailable,
		ModuleName: "knm_local"}), "create")

	var (
		read, start sync.WaitGroup
		done        sync.WaitGroup
		mu          sync.Mutex
		winners     []string
		conflicts   int
		others      []error
	)
	read.Add(racers)
	start.Add(1)
	for i := range racers {
		done.Add(1)
		go func() {
			defer done.Done()
			n, err := s.GetNumber(ctx, "+14155550100")
			read.Done()
			start.Wait() // everyone has read revision 1 before anyone writes
			if err != nil {
				mu.Lock()
				others = append(others, err)
				mu.Unlock()
				return
			}
			n.State, n.AssignedTo = knm.StateInService, accountID(100+i)
			err = s.UpdateNumber(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, n.AssignedTo)
			case knm.IsErrorName(err, knm.ErrConflict):
				conflicts++
			default:
				others = append(others, err)
			}
		}()
	}
	read.Wait()
	start.Done()
	done.Wait()

	if len(others) > 0 {
		t.Fatalf("%d racers got errors other than conflict, first: %v", len(others), others[0])
	}
	if len(winners) != 1 || conflicts != racers-1 {
		t.Fatalf("%d winners and %d conflicts, want 1 and %d", len(winners), conflicts, racers-1)
	}
	got, err := s.GetNumber(ctx, "+14155550100")
	must(t, err, "get")
	if got.Rev != 2 || got.State != knm.StateInService || got.AssignedTo != winners[0] {
		t.Fatalf("stored number = %v rev %d, want in_service rev 2 assigned to the winner %s", got, got.Rev, winners[0])
	}
}

func testIdempotency(t *testing.T, s knm.Store) {
	ctx := context.Background()
	ref, claimed, err := s.ClaimIdempotencyKey(ctx, "order-key-1", "order-1")
	must(t, err, "claim")
	if !claimed || ref != "order-1" {
		t.Fatalf("first claim = %q, %v; want order-1, true", ref, claimed)
	}
	ref, claimed, err = s.ClaimIdempotencyKey(ctx, "order-key-1", "order-2")
	must(t, err, "repeat claim")
	if claimed || ref != "order-1" {
		t.Fatalf("repeat claim = %q, %v; want order-1, false", ref, claimed)
	}
	ref, claimed, err = s.ClaimIdempotencyKey(ctx, "order-key-2", "order-2")
	must(t, err, "other key")
	if !claimed || ref != "order-2" {
		t.Fatalf("other key = %q, %v; want order-2, true", ref, claimed)
	}
	_, _, err = s.ClaimIdempotencyKey(ctx, "", "x")
	wantErr(t, err, knm.ErrInvalid, "empty key")
}

func testIdempotencyConcurrent(t *testing.T, s knm.Store) {
	const claimers = 20
	ctx := context.Background()
	var (
		wg, start sync.WaitGroup
		mu        sync.Mutex
		wins      int
		refs      = map[string]bool{}
		errs      []error
	)
	start.Add(1)
	for i := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			ref, claimed, err := s.ClaimIdempotencyKey(ctx, "same-key", fmt.Sprintf("ref-%d", i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if claimed {
				wins++
			}
			refs[ref] = true
		}()
	}
	start.Done()
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d claims failed, first: %v", len(errs), errs[0])
	}
	if wins != 1 || len(refs) != 1 {
		t.Fatalf("%d claims won and %d distinct refs seen, want 1 and 1: %v", wins, len(refs), refs)
	}
}
