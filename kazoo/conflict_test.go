package kazoo

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/knmproject/knm"
)

// interloper writes a document just before the projector's first _bulk_docs request
// reaches CouchDB, as another writer (Kazoo itself) might.
type interloper struct {
	next  http.RoundTripper
	fired atomic.Bool
	write func()
}

func (i *interloper) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/_bulk_docs") && i.fired.CompareAndSwap(false, true) {
		i.write()
	}
	return i.next.RoundTrip(r)
}

// TestBatchConflictIsReapplied: when another writer changes a document between the
// projector's read and its bulk write, CouchDB refuses that document; the projector reads
// it again and applies knm's state on the new revision, and the cursor moves on.
func TestBatchConflictIsReapplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain, s := kazooAndKnm(t)
	n := &knm.Number{Number: "+12565550111", State: knm.StateAvailable, ModuleName: "knm_voxbone"}
	if err := s.CreateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	p, err := NewProjector(Options{Store: s, Couch: plain})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, p)
	n.State, n.AssignedTo = knm.StateInService, accSubA
	if err := s.UpdateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	il := &interloper{next: http.DefaultTransport, write: func() {
		putJSON(t, plain, "numbers/+1256", n.Number, map[string]any{"_id": n.Number, "pvt_state": "port_out"})
	}}
	p.o.Couch = couchVia(t, plain.URL(), il)
	drain(t, p)
	if !il.fired.Load() {
		t.Fatal("no bulk write was made")
	}
	want, _ := NumberDoc(n)
	for _, db := range []string{"numbers/+1256", AccountDB(accSubA)} {
		got, err := plain.get(ctx, db, n.Number)
		if err != nil || len(diffDocs(want, got)) > 0 {
			t.Errorf("%s: %v differs in %v", db, err, diffDocs(want, got))
		}
	}
}
