package knmvoxbone

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
	"github.com/knmproject/knm/voxbone/emulator"
)

// TestAccountFingerprint: the fingerprint tells accounts apart and holds no secret.
func TestAccountFingerprint(t *testing.T) {
	t.Parallel()
	base := Settings{Username: "alice", Password: "s3cret-pass", Environment: "production"}
	fp := base.AccountFingerprint()
	if len(fp) != 12 || strings.Contains(fp, "alice") || strings.Contains(fp, "s3cret") {
		t.Fatalf("fingerprint %q", fp)
	}
	same := base
	same.Password = "rotated"
	same.MaxOrderCost = 5
	if same.AccountFingerprint() != fp {
		t.Error("a new password or limit changed the account")
	}
	for name, s := range map[string]Settings{
		"user": {Username: "bob", Password: "s3cret-pass", Environment: "production"},
		"env":  {Username: "alice", Password: "s3cret-pass", Environment: "sandbox"},
		"url":  {Username: "alice", Password: "s3cret-pass", Environment: "production", BaseURL: "https://x.com/api"},
		"key":  {APIKey: "k1", Environment: "beta"},
	} {
		if s.AccountFingerprint() == fp {
			t.Errorf("%s: same fingerprint", name)
		}
	}
	if (Settings{APIKey: "k1", Environment: "beta"}).AccountFingerprint() == (Settings{APIKey: "k2",
		Environment: "beta"}).AccountFingerprint() {
		t.Error("two API keys share a fingerprint")
	}
	c, err := New(base, Deps{Store: openSQLite(t)})
	if err != nil || c.AccountFingerprint() != fp {
		t.Errorf("carrier fingerprint %q, %v", c.AccountFingerprint(), err)
	}
}

// TestAccountFingerprintReal builds carriers without the tests' fingerprint override: the
// fingerprint follows the account actually talked to (the effective base URL, the
// username, the API key sent), not how the settings spell it.
func TestAccountFingerprintReal(t *testing.T) {
	t.Parallel()
	store := openSQLite(t)
	fpOf := func(s Settings) string {
		t.Helper()
		c, err := New(s, Deps{Store: store, Logger: quiet})
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if c.AccountFingerprint() != s.AccountFingerprint() {
			t.Fatalf("carrier fingerprint %q != AccountFingerprintOf %q", c.AccountFingerprint(),
				s.AccountFingerprint())
		}
		return c.AccountFingerprint()
	}
	proxy := "https://proxy.example.com/ws-voxbone/services/rest"
	alice := Settings{Username: "alice", Password: "pw", Environment: "sandbox", BaseURL: proxy}
	same := map[string][2]Settings{
		// The environment only picks the URL, which base_url replaces.
		"env with base_url": {alice, {Username: "alice", Password: "pw", Environment: "production", BaseURL: proxy}},
		"explicit production URL": {{Username: "alice", Password: "pw", Environment: "production"},
			{Username: "alice", Password: "pw", Environment: "production", BaseURL: voxbone.ProductionURL}},
		"explicit sandbox URL, default environment": {{Username: "alice", Password: "pw"},
			{Username: "alice", Password: "pw", Environment: "beta", BaseURL: voxbone.SandboxURL + "/"}},
		"case, default port, trailing slash": {alice,
			{Username: "alice", Password: "pw", BaseURL: "HTTPS://Proxy.Example.COM:443/ws-voxbone/services/rest/"}},
		"http default port": {{Username: "alice", Password: "pw", BaseURL: "http://10.0.0.1/api"},
			{Username: "alice", Password: "pw", BaseURL: "http://10.0.0.1:80/api"}},
		"password": {alice, {Username: "alice", Password: "rotated", Environment: "sandbox", BaseURL: proxy}},
	}
	for name, p := range same {
		if a, b := fpOf(p[0]), fpOf(p[1]); a != b {
			t.Errorf("%s: fingerprints %s and %s differ for one account", name, a, b)
		}
	}
	base := fpOf(alice)
	const rest = "/ws-voxbone/services/rest"
	for name, s := range map[string]Settings{
		"username":       {Username: "bob", Password: "pw", BaseURL: proxy},
		"host":           {Username: "alice", Password: "pw", BaseURL: "https://other.example.com" + rest},
		"port":           {Username: "alice", Password: "pw", BaseURL: "https://proxy.example.com:8443" + rest},
		"scheme":         {Username: "alice", Password: "pw", BaseURL: "http://proxy.example.com" + rest},
		"path":           {Username: "alice", Password: "pw", BaseURL: "https://proxy.example.com/other"},
		"api key sent":   {Username: "alice", Password: "pw", APIKey: "k1", BaseURL: proxy},
		"environment":    {Username: "alice", Password: "pw", Environment: "production"},
		"no base, other": {Username: "alice", Password: "pw", Environment: "beta"},
	} {
		if fp := fpOf(s); fp == base {
			t.Errorf("%s: another account shares fingerprint %s", name, fp)
		}
	}
	// Beta: two API keys are two accounts, with or without a username beside them.
	for _, user := range []string{"", "x"} {
		k1 := Settings{Username: user, APIKey: "k1", Environment: "beta"}
		k2 := k1
		k2.APIKey = "k2"
		if fpOf(k1) == fpOf(k2) {
			t.Errorf("beta, username %q: two API keys share a fingerprint", user)
		}
	}
	for _, s := range []Settings{alice, {Username: "alice", Password: "s3cret", APIKey: "key-123",
		Environment: "beta"}} {
		fp := fpOf(s)
		if len(fp) != 12 || strings.Contains(fp, "alice") || strings.Contains(fp, "s3cret") ||
			strings.Contains(fp, "key-123") {
			t.Errorf("fingerprint %q", fp)
		}
	}
}

// TestRecoverLeavesOtherAccountsOrders: a row left checkout_sent on account A (the process
// died as the checkout went through) is not settled by a carrier rebuilt for account B,
// where the order's cart and DIDs are invisible: it stays unsettled, with the reason, until
// a carrier of account A imports its DIDs.
func TestRecoverLeavesOtherAccountsOrders(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	store := openSQLite(t)
	eA := emulator.New(emulator.Config{})
	threeGroups(t, eA)
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	sw := &crashSwitch{e: eA, endpoint: "cart.checkout", nth: 1, effect: true, cancel: scancel}
	dying := httptest.NewServer(sw)
	defer dying.Close()
	old := newTestCarrier(t, testSettings(dying.URL), Deps{Store: crashStore{Store: store, crashed: &sw.crashed}})
	_, _ = search256(sctx, old, 2)
	if len(eA.DIDs()) != 2 {
		t.Fatalf("account A holds %d DIDs, want 2", len(eA.DIDs()))
	}

	eB := emulator.New(emulator.Config{})
	threeGroups(t, eB)
	srvB := httptest.NewServer(eB)
	defer srvB.Close()
	onB := newTestCarrier(t, testSettings(srvB.URL), Deps{Store: store})
	onB.account = testSettings(srvB.URL).AccountFingerprint()
	rep, err := onB.Recover(ctx)
	if err != nil || rep.Failed != 0 || len(rep.Unsettled) != 1 ||
		!strings.Contains(rep.Unsettled[0], "another Voxbone account") {
		t.Fatalf("recover on account B: %+v, %v", rep, err)
	}
	es, _ := store.FindJournals(ctx, knm.JournalFilter{Carrier: ModuleName})
	if len(es) != 1 || OrderState(es[0].State) != StateCheckoutSent {
		t.Fatalf("journal after recover on B: %+v", es)
	}
	if n := eB.Calls("cart.delete") + eB.Calls("order.list"); n != 0 {
		t.Errorf("recover on B touched account B %d times for A's order", n)
	}

	srvA := httptest.NewServer(eA)
	defer srvA.Close()
	onA := newTestCarrier(t, testSettings(srvA.URL), Deps{Store: store}) // the same test account again
	rep, err = onA.Recover(ctx)
	if err != nil || rep.Imported != 1 || len(rep.Unsettled) != 0 {
		t.Fatalf("recover on account A: %+v, %v", rep, err)
	}
	checkInvariants(t, eA, store, 1)
}

// TestReleaseOnOtherAccountRefused: a release that finds neither the number nor its DID id
// in the account finishes only when knm itself cancelled that DID before; a carrier talking
// to another account refuses it, so a number Voxbone still bills stays in knm.
func TestReleaseOnOtherAccountRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newFixture(t, emulator.Config{})
	n := buy(t, a.c, a.store, 2)[0]
	eB := emulator.New(emulator.Config{})
	srvB := httptest.NewServer(eB)
	defer srvB.Close()
	onB := newTestCarrier(t, testSettings(srvB.URL), Deps{Store: a.store})
	onB.account = "account-b"

	err := onB.DisconnectNumber(ctx, n)
	if !knm.IsErrorName(err, knm.ErrCarrier) || !strings.Contains(err.Error(), "not in this Voxbone account") {
		t.Fatalf("release on another account: %v", err)
	}
	if a.e.Calls("cancel")+eB.Calls("cancel") != 0 || len(a.e.DIDs()) != 2 {
		t.Fatal("a cancel was sent")
	}

	// A cancel journalled (sent) on account A whose outcome is unknown does not let B finish.
	didID := didIDOf(t, n)
	rec, err := a.c.journalCancel(ctx, didID, n.Number)
	if err != nil {
		t.Fatal(err)
	}
	if err := onB.DisconnectNumber(ctx, n); !knm.IsErrorName(err, knm.ErrCarrier) {
		t.Fatalf("release on B with A's unconfirmed cancel: %v", err)
	}

	// Released on A: the cancel row is written before and done after.
	if err := a.c.DisconnectNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	e, err := a.store.GetJournal(ctx, rec.ID)
	if err != nil || e.State != cancelDone || e.Carrier != ModuleName {
		t.Fatalf("cancel row %+v, %v", e, err)
	}
	var p cancelPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil || p.DIDID != didID || p.Number != n.Number ||
		p.Account != a.c.AccountFingerprint() {
		t.Fatalf("cancel payload %+v, %v", p, err)
	}
	// Released again, from either account: knm cancelled it, so it may finish, without
	// another cancel.
	if err := onB.DisconnectNumber(ctx, n); err != nil {
		t.Errorf("release after knm's own cancel: %v", err)
	}
	if err := a.c.DisconnectNumber(ctx, n); err != nil {
		t.Errorf("release again on A: %v", err)
	}
	if c := a.e.Calls("cancel"); c != 1 {
		t.Errorf("%d cancels, want 1", c)
	}
	// Cancel rows are no orders.
	if os, err := a.c.ListOrders(ctx); err != nil || len(os) != 1 {
		t.Errorf("orders %d, %v; want 1 (the purchase)", len(os), err)
	}
	if _, err := a.c.GetOrder(ctx, rec.ID); !knm.IsErrorName(err, knm.ErrNotFound) {
		t.Errorf("cancel row served as an order: %v", err)
	}
}
