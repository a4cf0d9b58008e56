//go:build !nopg

package main

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone/emulator"
)

// TestRouteTwoProcessesPostgres: two knm processes on one PostgreSQL database route the same
// DIDs at the same time; they create exactly one voice URI between them.
func TestRouteTwoProcessesPostgres(t *testing.T) {
	t.Parallel()
	e := emulator.New(emulator.Config{Username: "u", Password: "p", Seed: 7, Latency: 30 * time.Millisecond})
	base := serveEmulator(t, e)
	db := pgSchemaDSN(t)
	configureVoxbone(t, db, base)
	mustCLI(t, db, "voxbone", "order", "--group", "1404", "--quantity", "3", "--yes")
	mustCLI(t, db, "config", "set", "number_manager.voxbone", "voice_uri", `"sip:{e164}@sbc.example.com"`)
	e.ResetRequests()

	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "--db", db, "voxbone", "route", "--all")
			cmd.Env = append(os.Environ(), "KNM_TEST_AS_KNM=1")
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || !strings.Contains(outs[i], "0 pending") {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	if n := e.Calls("voiceuri.save"); n != 1 {
		t.Fatalf("%d voice URI creates by two processes, want 1\n%s\n%s", n, outs[0], outs[1])
	}
	vs := e.VoiceURIs()
	for _, d := range e.DIDs() {
		if len(vs) != 1 || d.VoiceURIID == nil || *d.VoiceURIID != vs[0].VoiceURIID {
			t.Fatalf("DID %s: %v (voice URIs %+v)", d.E164, d.VoiceURIID, vs)
		}
	}
}
