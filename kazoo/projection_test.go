package kazoo

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/knmvoxbone"
	"github.com/knmproject/knm/internal/kazoodoctest"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/voxbone/emulator"
)

// buyer is a manager whose only carrier is knm_voxbone over the Voxbone emulator, writing
// through a recording store.
func buyer(t *testing.T, s knm.Store) *manager.Manager {
	t.Helper()
	e := emulator.New(emulator.Config{Seed: 256})
	for i, id := range []int{5116, 5117, 12518, 5118, 5119, 5120, 5121, 5122, 5123} {
		stock := 0
		if i < 3 {
			stock = 5 // 15 numbers span three DID groups
		}
		if err := e.SetStock(id, stock); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	settings := knmvoxbone.DefaultSettings()
	settings.BaseURL = srv.URL + "/ws-voxbone/services/rest"
	settings.RateLimitRPS = 1000
	vx, err := knmvoxbone.New(settings, knmvoxbone.Deps{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Options{
		Store: s,
		Policy: func(context.Context) (manager.Policy, error) {
			p := manager.DefaultPolicy()
			p.CarrierModules = []string{knmvoxbone.ModuleName}
			return p, nil
		},
		Carriers: func(names []string) []knm.Carrier {
			if slices.Contains(names, knmvoxbone.ModuleName) {
				return []knm.Carrier{vx}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestProjectionKazooCase is the acceptance case: buy 15 numbers in 256, assign 5
// to an account imported from Kazoo, move one, release two (one given back to the reseller
// that reserved it, one returned to Voxbone): Kazoo's CouchDB then holds exactly what
// Kazoo's own number manager would, a full sync finds nothing to fix, and replaying every
// change writes nothing.
func TestProjectionKazooCase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, s := kazooAndKnm(t)
	if rep, err := (&AccountImporter{Store: s, Couch: c}).Import(ctx); err != nil || rep.Created != 4 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	m := buyer(t, s)
	res, err := m.Search(ctx, manager.SearchRequest{Country: "US", Prefix: "256", Quantity: 15, AccountID: accSubA,
		ResellerID: accReseller})
	if err != nil || len(res.Numbers) != 15 {
		t.Fatalf("search bought %d numbers: %v", len(res.Numbers), err)
	}
	var nums []string
	for _, r := range res.Numbers {
		nums = append(nums, r.Number)
	}
	sys := knm.SystemAccountID
	for _, num := range nums[:4] {
		if _, err := m.Activate(ctx, sys, num, accSubA); err != nil {
			t.Fatalf("activate %s: %v", num, err)
		}
	}
	// The fifth is reserved by the reseller, then by Sub A, which puts it in service.
	for _, acct := range []string{accReseller, accSubA} {
		if _, err := m.Reserve(ctx, sys, nums[4], acct); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Activate(ctx, sys, nums[4], accSubA); err != nil {
		t.Fatal(err)
	}
	p, err := NewProjector(Options{Store: s, Couch: c, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, p) // half-way: the five assigned numbers are listed in Sub A's database
	if docs, err := c.numberDocs(ctx, AccountDB(accSubA)); err != nil || len(docs) != 5 {
		t.Fatalf("Sub A lists %d numbers (%v), want 5", len(docs), err)
	}

	if _, err := m.Move(ctx, sys, nums[0], accSubB, knm.StateInService); err != nil {
		t.Fatalf("move: %v", err)
	}
	if _, err := m.Release(ctx, sys, nums[4]); err != nil { // back to the reseller, reserved
		t.Fatalf("release %s: %v", nums[4], err)
	}
	if n, err := m.Release(ctx, sys, nums[1]); err != nil || n != nil { // Voxbone takes it back
		t.Fatalf("release %s: %v %v", nums[1], n, err)
	}
	drain(t, p)

	checkCouch(t, c, s, nums)
	rep, err := FullSync(ctx, s, c, SyncOptions{DryRun: true})
	if err != nil || len(rep.Differences) != 0 || rep.Numbers != 14 {
		t.Fatalf("full sync after the projection: %+v %v", rep, err)
	}

	// Replaying every change from the start writes nothing: every _rev stays. (A consumer
	// registered again starts at the oldest event.)
	dbs := []string{"numbers/+1256", AccountDB(accSubA), AccountDB(accSubB), AccountDB(accReseller)}
	before := revs(t, c, dbs...)
	if err := s.DeleteEventCursor(ctx, Consumer); err != nil {
		t.Fatal(err)
	}
	drain(t, p)
	if after := revs(t, c, dbs...); !mapsEqual(before, after) {
		t.Errorf("a replay rewrote documents:\nbefore %v\nafter  %v", before, after)
	}
}

// checkCouch checks every number database and account database document against knm.
func checkCouch(t *testing.T, c *Couch, s knm.Store, nums []string) {
	t.Helper()
	ctx := context.Background()
	numberDocs, err := c.numberDocs(ctx, "numbers/+1256")
	if err != nil {
		t.Fatal(err)
	}
	if len(numberDocs) != 14 {
		t.Errorf("numbers/+1256 holds %d documents, want 14 (15 bought, 1 returned)", len(numberDocs))
	}
	if _, ok := numberDocs[nums[1]]; ok {
		t.Errorf("%s was released to Voxbone but its document is still there", nums[1])
	}
	owners := map[string][]string{accSubA: nums[2:4], accSubB: nums[:1], accReseller: nums[4:5], accMaster: nil}
	for acct, want := range owners {
		docs, err := c.numberDocs(ctx, AccountDB(acct))
		if err != nil {
			t.Fatal(err)
		}
		if got := sortedKeys(docs); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("account %s lists %v, want %v", acct, got, want)
		}
		for id, d := range docs {
			if diff := kazoodoctest.CopyDiff(d, numberDocs[id]); len(diff) > 0 {
				t.Errorf("account %s copy of %s differs from the number database in %v", acct, id, diff)
			}
		}
	}
	for _, num := range nums {
		n, err := s.GetNumber(ctx, num)
		if knm.IsErrorName(err, knm.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n.ModuleName != "knm_voxbone" {
			t.Errorf("%s: module %s", num, n.ModuleName)
		}
		kazoodoctest.CheckNumberDoc(t, "numbers/+1256", numberDocs[num], n)
	}
	moved, _ := s.GetNumber(ctx, nums[0])
	if moved.AssignedTo != accSubB || moved.PreviouslyAssignedTo != accSubA {
		t.Errorf("moved number: assigned %s, previously %s", moved.AssignedTo, moved.PreviouslyAssignedTo)
	}
	back, _ := s.GetNumber(ctx, nums[4])
	if back == nil || back.State != knm.StateReserved || back.AssignedTo != accReseller {
		t.Errorf("released number: %s", back)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestProjectorRewritesWhatOthersChanged: a document changed behind knm's back (a newer
// _rev) is re-read and overwritten with knm's state; a copy left in an account that no
// longer owns the number is removed.
func TestProjectorRewritesWhatOthersChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, s := kazooAndKnm(t)
	n := &knm.Number{Number: "+12565550123", State: knm.StateInService, AssignedTo: accSubA, ModuleName: "knm_local",
		Features: map[string]json.RawMessage{"local": json.RawMessage(`{}`)}, Created: time.Unix(1.7e9, 0)}
	if err := s.CreateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	p, err := NewProjector(Options{Store: s, Couch: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Project(ctx, n.Number); err != nil {
		t.Fatal(err)
	}
	// Someone edits the number's document and leaves a copy in Sub B's database.
	doc, _ := c.get(ctx, "numbers/+1256", n.Number)
	doc["pvt_state"] = json.RawMessage(`"port_out"`)
	putJSON(t, c, "numbers/+1256", n.Number, doc)
	putJSON(t, c, AccountDB(accSubB), n.Number, doc)
	if err := p.Project(ctx, n.Number, accSubB); err != nil {
		t.Fatal(err)
	}
	got, _ := c.get(ctx, "numbers/+1256", n.Number)
	if string(got["pvt_state"]) != `"in_service"` || string(got["pvt_features"]) != `{"local":{}}` {
		t.Errorf("not re-applied: %v", got)
	}
	if stale, _ := c.get(ctx, AccountDB(accSubB), n.Number); stale != nil {
		t.Errorf("stale copy left in Sub B: %v", stale)
	}
	// A write that meets a newer revision re-reads and applies again.
	old := Doc{"_id": got["_id"], "_rev": got["_rev"], "pvt_state": json.RawMessage(`"port_out"`)}
	putJSON(t, c, "numbers/+1256", n.Number, map[string]any{"_id": n.Number, "pvt_state": "aging"})
	want, _ := NumberDoc(n)
	wrote, err := c.writeDoc(ctx, docWrite{db: "numbers/+1256", id: n.Number, want: want, have: old, haveRead: true})
	if err != nil || !wrote {
		t.Fatalf("write over a stale revision: wrote %v, %v", wrote, err)
	}
	if got, _ := c.get(ctx, "numbers/+1256", n.Number); len(diffDocs(want, got)) > 0 {
		t.Errorf("after the conflict: %v", diffDocs(want, got))
	}
	// Deleted in knm: gone from the number database and from the owner's.
	if err := s.DeleteNumber(ctx, n.Number, n.Rev); err != nil {
		t.Fatal(err)
	}
	if err := p.Project(ctx, n.Number, accSubA); err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"numbers/+1256", AccountDB(accSubA)} {
		if d, _ := c.get(ctx, db, n.Number); d != nil {
			t.Errorf("%s still holds the deleted number", db)
		}
	}
}
