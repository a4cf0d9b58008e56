package knmvoxbone

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/store/sqlite"
	"github.com/knmproject/knm/voxbone/emulator"
)

var testTarget = VoiceURITarget{Protocol: "SIP", URI: "$e164@sbc.example.com"}

// ensureConcurrently calls ensureVoiceURI from n goroutines on each carrier and returns the
// ids they got.
func ensureConcurrently(t *testing.T, cs []*Carrier, n int, target VoiceURITarget) []int {
	t.Helper()
	var (
		mu  sync.Mutex
		ids []int
		wg  sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range cs {
		for range n {
			wg.Go(func() {
				id, err := c.ensureVoiceURI(ctx, target, 0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return ids
}

// checkOneVoiceURI asserts that the emulator holds exactly one voice URI and every caller got
// its id.
func checkOneVoiceURI(t *testing.T, e *emulator.Emulator, ids []int) {
	t.Helper()
	vs := e.VoiceURIs()
	if len(vs) != 1 {
		t.Fatalf("%d voice URIs at voxbone, want 1: %+v", len(vs), vs)
	}
	for _, id := range ids {
		if id != vs[0].VoiceURIID {
			t.Fatalf("a caller got id %d, voxbone has %d", id, vs[0].VoiceURIID)
		}
	}
}

// TestVoiceURIOncePerProcess: many concurrent routings in one process create one voice URI;
// a later call answers from the journal without a request.
func TestVoiceURIOncePerProcess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{Latency: 20 * time.Millisecond})
	ids := ensureConcurrently(t, []*Carrier{f.c}, 16, testTarget)
	checkOneVoiceURI(t, f.e, ids)
	if n := f.e.Calls("voiceuri.save"); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
	f.e.ResetRequests()
	if _, err := f.c.ensureVoiceURI(t.Context(), testTarget, 0); err != nil {
		t.Fatal(err)
	}
	if n := len(f.e.Requests()); n != 0 {
		t.Fatalf("a remembered voice URI cost %d requests", n)
	}
}

// TestVoiceURIFoundNotCreated: a voice URI the operator made with the same URI is reused.
func TestVoiceURIFoundNotCreated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{})
	other := newTestCarrier(t, f.s, Deps{Store: openSQLite(t)}) // another database
	want, err := other.ensureVoiceURI(t.Context(), testTarget, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.c.ensureVoiceURI(t.Context(), testTarget, 0)
	if err != nil || got != want {
		t.Fatalf("got %d %v, want %d", got, err, want)
	}
	checkOneVoiceURI(t, f.e, []int{got})
}

// TestVoiceURIFaults: a create that fails, or whose answer is lost after Voxbone made the
// voice URI, leaves no duplicate: the next attempt lists and finds it.
func TestVoiceURIFaults(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]emulator.Fault{
		"500":          {Endpoint: "voiceuri.save", Nth: 1, Status: 500},
		"429":          {Endpoint: "voiceuri.save", Nth: 1, Status: 429},
		"drop-effect":  {Endpoint: "voiceuri.save", Nth: 1, Drop: true, AfterEffect: true},
		"500-effect":   {Endpoint: "voiceuri.save", Nth: 1, Status: 500, AfterEffect: true},
		"timeout":      {Endpoint: "voiceuri.save", Nth: 1, Latency: time.Second},
		"list-500-all": {Endpoint: "voiceuri.list", Nth: 1, Times: 4, Status: 500},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, emulator.Config{})
			f.e.AddFault(fault)
			if _, err := f.c.ensureVoiceURI(t.Context(), testTarget, 0); err == nil {
				t.Fatal("a faulted attempt succeeded")
			}
			e, err := f.store.GetJournal(t.Context(), f.c.voiceURIRowID(testTarget))
			if err != nil || e.State != voiceURIFree {
				t.Fatalf("row after the failure: %+v %v", e, err)
			}
			time.Sleep(time.Second) // a timed-out create lands meanwhile
			id, err := f.c.ensureVoiceURI(t.Context(), testTarget, 0)
			if err != nil {
				t.Fatal(err)
			}
			checkOneVoiceURI(t, f.e, []int{id})
		})
	}
}

// TestVoiceURIStaleClaim: a claim left by a crashed instance is taken over after it expires.
func TestVoiceURIStaleClaim(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{})
	now := time.Now()
	f.c.now = func() time.Time { return now }
	if _, err := f.c.claimNewVoiceURI(t.Context(), f.c.voiceURIRowID(testTarget), testTarget, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := f.c.ensureVoiceURI(ctx, testTarget, 0); err == nil {
		t.Fatal("a live claim was taken over")
	}
	later := now.Add(f.c.claimTTL() + time.Second)
	f.c.now = func() time.Time { return later }
	id, err := f.c.ensureVoiceURI(t.Context(), testTarget, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkOneVoiceURI(t, f.e, []int{id})
}

// TestVoiceURIBackup: the backup voice URI is made first and set as the primary's backup.
func TestVoiceURIBackup(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Config{})
	r := Routing{VoiceURI: "sip:{e164}@sbc.example.com", BackupVoiceURI: "sip:{e164}@backup.example.com"}
	id, err := f.c.voiceURIFor(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	vs := f.e.VoiceURIs()
	if len(vs) != 2 {
		t.Fatalf("voice URIs %+v", vs)
	}
	for _, v := range vs {
		if v.VoiceURIID == id && (v.BackupURI == nil || *v.BackupURI != "$e164@backup.example.com") {
			t.Fatalf("primary without its backup: %+v", v)
		}
	}
}

// voiceURIAcrossStores runs two carriers on two stores of one database (two instances) and
// checks that they create exactly one voice URI.
func voiceURIAcrossStores(t *testing.T, a, b knm.Store) {
	e := emulator.New(emulator.Config{Latency: 30 * time.Millisecond})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	s := testSettings(srv.URL)
	s.RequestTimeout = 2 * time.Second
	ca := newTestCarrier(t, s, Deps{Store: a})
	cb := newTestCarrier(t, s, Deps{Store: b})
	ids := ensureConcurrently(t, []*Carrier{ca, cb}, 8, testTarget)
	checkOneVoiceURI(t, e, ids)
	if n := e.Calls("voiceuri.save"); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
}

// TestVoiceURIOnceAcrossInstancesSQLite: two stores on one SQLite file stand for two
// processes sharing it.
func TestVoiceURIOnceAcrossInstancesSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "knm.db")
	open := func() knm.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	voiceURIAcrossStores(t, open(), open())
}
