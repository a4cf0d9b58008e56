package kazoo

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/knmproject/knm"
)

// TestFullSyncFindsAndFixesDifferences: a dry run reports every kind of difference and
// writes nothing; a real run fixes them, leaving documents of numbers knm does not have
// unless asked to prune; a last dry run finds nothing.
func TestFullSyncFindsAndFixesDifferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, s := kazooAndKnm(t)
	nums := []*knm.Number{
		{Number: "+14155550100", State: knm.StateInService, AssignedTo: accSubA, ModuleName: "knm_voxbone",
			CarrierData: json.RawMessage(`{"didId":1}`),
			Public:      map[string]json.RawMessage{"cnam": json.RawMessage(`{"display_name":"A"}`)}},
		{Number: "+14155550101", State: knm.StateAvailable, ModuleName: "knm_voxbone", PreviouslyAssignedTo: accSubB},
		{Number: "+14155550102", State: knm.StateReserved, AssignedTo: accSubB, ModuleName: "knm_local",
			ReserveHistory: []string{accSubB}, Features: map[string]json.RawMessage{"local": json.RawMessage(`{}`)}},
	}
	for _, n := range nums {
		if err := s.CreateNumber(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	// CouchDB before the sync: one number document differs, one is missing, Sub A lacks its
	// copy, Sub B has a copy of a number it no longer owns, and Kazoo has a number knm lacks.
	doc0, _ := NumberDoc(nums[0])
	doc0["pvt_state"] = json.RawMessage(`"reserved"`)
	putJSON(t, c, "numbers/+1415", nums[0].Number, doc0)
	doc2, _ := NumberDoc(nums[2])
	putJSON(t, c, "numbers/+1415", nums[2].Number, doc2)
	putJSON(t, c, AccountDB(accSubB), nums[2].Number, doc2)
	doc1, _ := NumberDoc(nums[1])
	putJSON(t, c, AccountDB(accSubB), nums[1].Number, doc1)
	putJSON(t, c, "numbers/+1415", "+14155559999", map[string]any{"_id": "+14155559999", "pvt_state": "in_service"})

	dry, err := FullSync(ctx, s, c, SyncOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Difference{}
	for _, d := range dry.Differences {
		got[d.DB+" "+d.ID] = d
		if d.Fixed {
			t.Errorf("a dry run fixed %+v", d)
		}
	}
	wantKinds := map[string]string{
		"numbers/+1415 " + nums[0].Number:         DiffDifferent,
		"numbers/+1415 " + nums[1].Number:         DiffMissing,
		"numbers/+1415 +14155559999":              DiffUnknown,
		AccountDB(accSubA) + " " + nums[0].Number: DiffMissing,
		AccountDB(accSubB) + " " + nums[1].Number: DiffStale,
	}
	for k, kind := range wantKinds {
		if got[k].Kind != kind {
			t.Errorf("%s: %q, want %q", k, got[k].Kind, kind)
		}
	}
	if len(dry.Differences) != len(wantKinds) || dry.Numbers != 3 {
		t.Errorf("dry run: %+v", dry)
	}
	if d := got["numbers/+1415 "+nums[0].Number]; !slices.Equal(d.Fields, []string{"pvt_state"}) {
		t.Errorf("different fields: %v", d.Fields)
	}
	if d, _ := c.get(ctx, "numbers/+1415", nums[1].Number); d != nil {
		t.Fatal("a dry run wrote a document")
	}

	checkFixAndPrune(t, s, c, nums[0].Number)
}

// checkFixAndPrune runs a fixing sync, then a pruning one: the first fixes everything but
// the unknown number, the second deletes it, and Sub A's copy of num matches its document.
func checkFixAndPrune(t *testing.T, s knm.Store, c *Couch, num string) {
	t.Helper()
	ctx := context.Background()
	fix, err := FullSync(ctx, s, c, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range fix.Differences {
		if d.Fixed == (d.Kind == DiffUnknown) {
			t.Errorf("fix run: %+v", d)
		}
	}
	after, err := FullSync(ctx, s, c, SyncOptions{DryRun: true})
	if err != nil || len(after.Differences) != 1 || after.Differences[0].Kind != DiffUnknown {
		t.Fatalf("after fixing: %+v %v", after, err)
	}
	if pruned, err := FullSync(ctx, s, c, SyncOptions{Prune: true}); err != nil || len(pruned.Differences) != 1 ||
		!pruned.Differences[0].Fixed {
		t.Fatalf("prune: %+v %v", pruned, err)
	}
	if last, err := FullSync(ctx, s, c, SyncOptions{DryRun: true}); err != nil || len(last.Differences) != 0 {
		t.Fatalf("after pruning: %+v %v", last, err)
	}
	a, _ := c.get(ctx, AccountDB(accSubA), num)
	n, _ := c.get(ctx, "numbers/+1415", num)
	if string(a["cnam"]) != `{"display_name":"A"}` || len(diffDocs(a, n)) != 0 {
		t.Errorf("Sub A's copy %v differs from %v", a, n)
	}
}
