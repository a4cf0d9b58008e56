package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers/local"
)

// recoveringModule is a real local carrier that can also settle unfinished work, as a
// journalling carrier module does; it records the idle ages it was asked for.
type recoveringModule struct {
	*local.Carrier

	mu    sync.Mutex
	ages  []time.Duration
	sum   knm.RecoverSummary
	err   error
	calls chan struct{}
}

func (m *recoveringModule) RecoverIdle(_ context.Context, minIdle time.Duration) (knm.RecoverSummary, error) {
	m.mu.Lock()
	m.ages = append(m.ages, minIdle)
	sum, err := m.sum, m.err
	m.mu.Unlock()
	select {
	case m.calls <- struct{}{}:
	default:
	}
	return sum, err
}

func (m *recoveringModule) idleAges() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.ages)
}

// TestServeRecoversEveryRecoverer: serve's recovery reaches every registered module that
// implements knm.Recoverer, without naming it: at start-up (on SQLite, ownerless work of any
// age), then every interval (ownerless work idle unownedIdle), logging what each module did.
func TestServeRecoversEveryRecoverer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	a := &app{db: sqliteDB(t), getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard,
		logger: logger}
	defer a.close()
	if _, err := a.manager(ctx); err != nil {
		t.Fatal(err)
	}
	mod := &recoveringModule{Carrier: local.NewLocal(a.store), calls: make(chan struct{}, 1),
		sum: knm.RecoverSummary{Examined: 3, Settled: 2, Unsettled: 1}}
	a.registry.Register("knm_test_recovering", func() (knm.Carrier, error) { return mod, nil })

	a.recoverOnce(ctx, logger)
	if got := mod.idleAges(); !slices.Equal(got, []time.Duration{0}) {
		t.Fatalf("start-up recovery on SQLite asked for idle ages %v, want [0]", got)
	}
	for _, want := range []string{`msg="manager recover"`,
		`msg="carrier recover" module=knm_test_recovering examined=3 settled=2 failed=0 unsettled=1`} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("log lacks %s:\n%s", want, logs)
		}
	}

	mod.mu.Lock()
	mod.err = errors.New("carrier unreachable")
	mod.mu.Unlock()
	<-mod.calls // the start-up call's token
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.recoverLoop(lctx, logger, 5*time.Millisecond); close(done) }()
	select {
	case <-mod.calls:
	case <-ctx.Done():
		t.Fatal("the background loop never recovered the module")
	}
	stop()
	<-done
	if got := mod.idleAges(); len(got) < 2 || got[1] != unownedIdle {
		t.Fatalf("background recovery asked for idle ages %v, want %v after the first", got, unownedIdle)
	}
	want := `msg="carrier recover failed" module=knm_test_recovering error="carrier unreachable"`
	if !strings.Contains(logs.String(), want) {
		t.Fatalf("log lacks %s:\n%s", want, logs)
	}
}
