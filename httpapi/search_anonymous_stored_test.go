package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
)

// TestAnonymousSearchExplainsStoredNumbers: as in Kazoo, a search without a token finds no
// stored (knm_inventory) numbers, and its carrier report says why instead of a bare count 0;
// the same search with a token finds them, without the note.
func TestAnonymousSearchExplainsStoredNumbers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "", nil)
	e.importNumbers("+12565550801", "+12565550802")
	if err := e.api.cfg.Set(context.Background(), config.NumberManagerCategory, "carrier_modules",
		json.RawMessage(`["knm_inventory"]`), ""); err != nil {
		t.Fatal(err)
	}
	master := e.login(e.masterKey)
	type report struct {
		Module string `json:"module"`
		Status string `json:"status"`
		Count  int    `json:"count"`
		Note   string `json:"note"`
	}
	search := func(token string) ([]manager.NumberState, report) {
		t.Helper()
		r := e.do("GET", "/v2/phone_numbers?prefix=256&quantity=5", token, nil)
		if r.Status != 200 {
			t.Fatalf("search: %d %s", r.Status, r.Raw)
		}
		var nums []manager.NumberState
		r.data(t, &nums)
		var reps []report
		if err := json.Unmarshal(r.Env["carriers"], &reps); err != nil {
			t.Fatalf("carriers %s: %v", r.Env["carriers"], err)
		}
		for _, rep := range reps {
			if rep.Module == "knm_inventory" {
				return nums, rep
			}
		}
		t.Fatalf("no knm_inventory report: %s", r.Env["carriers"])
		return nil, report{}
	}
	nums, rep := search("")
	if len(nums) != 0 || rep.Status != "ok" || rep.Count != 0 ||
		rep.Note != manager.NoteNeedsAccount {
		t.Fatalf("anonymous: numbers %v, report %+v", nums, rep)
	}
	nums, rep = search(master)
	if len(nums) != 2 || rep.Count != 2 || rep.Note != "" {
		t.Fatalf("with a token: numbers %v, report %+v", nums, rep)
	}
}
