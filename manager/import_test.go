package manager

import (
	"context"
	"strings"
	"testing"

	"github.com/knmproject/knm"
)

const importCSV = `number,state,module,assigned_to,carrier_data
+14155550001,,,,
4155550002,available,,,"{""sku"":1}"
+14155550003,in_service,knm_voxbone,` + "cccccccccccccccccccccccccccccccc" + `,
not-a-number,,,,
+14155550004,discovery,,,
+14155550005,bogus,,,
+14155550001,,,,
+14155550006,in_service,,,
+14155550007,,,,[1]
+14155550008,,,xyz,
+14155550009,reserved,,cccccccccccccccccccccccccccccccc,
`

// TestImport: bad rows are reported with their line and reason, good rows are stored,
// and running the same file again skips everything.
func TestImport(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		var calls, lastDone, lastTotal int
		progress := func(done, total int) { calls, lastDone, lastTotal = calls+1, done, total }
		rep, err := e.m.Import(ctx, strings.NewReader(importCSV), ImportOptions{BatchSize: 2}, progress)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 11 || rep.Imported != 4 || rep.Skipped != 0 || rep.Rejected != 7 {
			t.Fatalf("report %+v", rep)
		}
		wantRej := map[int]string{5: "invalid number", 6: `bad state "discovery"`, 7: `bad state "bogus"`,
			8: "duplicate in file",
			9: "a in_service number needs assigned_to", 10: "carrier_data is not a JSON object",
			11: `bad assigned_to "xyz"`}
		for _, r := range rep.Rejections {
			if wantRej[r.Line] != r.Reason {
				t.Errorf("line %d: %q, want %q", r.Line, r.Reason, wantRej[r.Line])
			}
		}
		if calls < 2 || lastDone != 11 || lastTotal != 11 {
			t.Errorf("progress: %d calls, last %d/%d", calls, lastDone, lastTotal)
		}
		n := e.get(t, "+14155550002")
		if n.State != knm.StateAvailable || n.ModuleName != "knm_inventory" || string(n.CarrierData) != `{"sku":1}` {
			t.Fatalf("imported %+v", n)
		}
		if n := e.get(t, "+14155550003"); n.State != knm.StateInService || n.AssignedTo != accS ||
			n.ModuleName != "knm_voxbone" {
			t.Fatalf("imported %s", n)
		}
		if n := e.get(t, "+14155550009"); len(n.ReserveHistory) != 1 {
			t.Fatalf("reserved import history %v", n.ReserveHistory)
		}

		rep, err = e.m.Import(ctx, strings.NewReader(importCSV), ImportOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Imported != 0 || rep.Skipped != 4 || rep.Rejected != 7 {
			t.Fatalf("second run %+v", rep)
		}
		_, err = e.m.Import(ctx, strings.NewReader("state,module\navailable,knm_local\n"), ImportOptions{}, nil)
		wantErr(t, err, knm.ErrInvalid, "number")
	})
}

// TestImportKazoo: Kazoo phone_number documents come as an array, one document or an
// _all_docs reply; design documents are skipped, bad documents rejected by position, a
// document without a state is available, and a second run skips what is stored.
func TestImportKazoo(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		array := `[{"_id":"_design/numbers","views":{}},
			{"_id":"+14155550101","pvt_state":"in_service","pvt_assigned_to":"` + accS + `","pvt_module_name":"knm_local"},
			{"_id":"+14155550102"},
			{"_id":"+14155550103","pvt_state":"bogus"}]`
		var done int
		rep, err := e.m.ImportKazoo(ctx, strings.NewReader(array), func(d, total int) { done = d })
		if err != nil || rep.Rows != 3 || rep.Imported != 2 || rep.Rejected != 1 || rep.Rejections[0].Line != 4 ||
			rep.Rejections[0].Number != "+14155550103" || done != 3 {
			t.Fatalf("array: %+v, %v (progress %d)", rep, err, done)
		}
		if n := e.get(t, "+14155550102"); n.State != knm.StateAvailable {
			t.Fatalf("a document without a state: %s", n)
		}
		if n := e.get(t, "+14155550101"); n.State != knm.StateInService || n.AssignedTo != accS {
			t.Fatalf("in_service document: %s", n)
		}
		rep, err = e.m.ImportKazoo(ctx, strings.NewReader(`{"_id":"+14155550101"}`), nil)
		if err != nil || rep.Rows != 1 || rep.Skipped != 1 {
			t.Fatalf("one document again: %+v, %v", rep, err)
		}
		for _, bad := range []string{`nope`, `{"rows":[{"id":"x"}]}`, `{"total_rows":0}`} {
			_, err := e.m.ImportKazoo(ctx, strings.NewReader(bad), nil)
			wantErr(t, err, knm.ErrInvalid, "")
		}
	})
}

// TestImportKazooRejectsAndProgress: a non-E.164 _id and a number repeated in the file are
// rejected by position, malformed JSON names its line and column, and the progress
// reaches its total although a design document is skipped.
func TestImportKazooRejectsAndProgress(t *testing.T) {
	forEachStore(t, func(t *testing.T, s knm.Store) {
		ctx := context.Background()
		e := newEnv(t, s, Policy{})
		var lastDone, lastTotal int
		docs := `[{"_id":"_design/numbers","views":{}},{"_id":"bogus"},{"_id":"+14155550100"},{"_id":"+14155550100"}]`
		rep, err := e.m.ImportKazoo(ctx, strings.NewReader(docs), func(d, total int) { lastDone, lastTotal = d, total })
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 3 || rep.Imported != 1 || rep.Rejected != 2 {
			t.Fatalf("report %+v", rep)
		}
		if r := rep.Rejections[0]; r.Line != 2 || r.Number != "bogus" || !strings.Contains(r.Reason, "E.164") {
			t.Errorf("bogus _id: %+v", r)
		}
		if r := rep.Rejections[1]; r.Line != 4 || r.Reason != "duplicate in file" {
			t.Errorf("repeated number: %+v", r)
		}
		if lastTotal != 3 || lastDone != lastTotal {
			t.Errorf("progress ended at %d of %d, want 3 of 3", lastDone, lastTotal)
		}
		_, err = e.m.ImportKazoo(ctx, strings.NewReader("[\n{\"_id\":\"+14155550101\"},\n{\"_id\": }\n]"), nil)
		if !knm.IsErrorName(err, knm.ErrInvalid) || !strings.Contains(err.Error(), "line 3, column 9") {
			t.Errorf("malformed JSON: %v", err)
		}
	})
}
