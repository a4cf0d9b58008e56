package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestVoxboneOrdersNameInstance: orders and orders show name the instance of an order as the
// console does: its host and process while the serve that ran it holds its lease, and
// "ended" once that serve has stopped and released it.
func TestVoxboneOrdersNameInstance(t *testing.T) {
	t.Parallel()
	e, base := slowCheckoutEmulator(t, 0)
	db := sqliteDB(t)
	configureVoxbone(t, db, base)
	p := startServe(t, db)
	tok, acct := masterLogin(t, p.url)
	if code := <-searchAsync(p.url, tok, acct); code != 200 {
		t.Fatalf("search answered %d", code)
	}
	awaitFinal(t, db, 60*time.Second)
	if e.Calls("cart.checkout") != 1 {
		t.Fatalf("%d checkouts, want 1", e.Calls("cart.checkout"))
	}
	id := onlyOrder(t, db).ID
	running := fmt.Sprintf(", process %d (running)", p.cmd.Process.Pid)
	if out := mustCLI(t, db, "voxbone", "orders"); !strings.Contains(out, id) || !strings.Contains(out, "INSTANCE") ||
		!strings.Contains(out, running) {
		t.Fatalf("orders while serve runs (want %q):\n%s", running, out)
	}
	if out := mustCLI(t, db, "voxbone", "orders", "show", id); !strings.Contains(out, `"instance_status": "`) ||
		!strings.Contains(out, running) || !strings.Contains(out, `"instance": "`+instanceOf(t, p)+`"`) {
		t.Fatalf("orders show while serve runs (want %q):\n%s", running, out)
	}
	if c := p.stop(t); c != 0 {
		t.Fatalf("serve exited %d: %s", c, p.stderr)
	}
	ended := instanceOf(t, p) + " (ended: its lease was released or pruned)"
	if out := mustCLI(t, db, "voxbone", "orders"); !strings.Contains(out, ended) {
		t.Fatalf("orders after serve stopped (want %q):\n%s", ended, out)
	}
	if out := mustCLI(t, db, "voxbone", "orders", "show", id); !strings.Contains(out, ended) {
		t.Fatalf("orders show after serve stopped (want %q):\n%s", ended, out)
	}
}
