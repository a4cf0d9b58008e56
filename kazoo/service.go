package kazoo

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/config"
)

// Observer receives the projection's figures, for metrics. *metrics.Metrics implements it.
type Observer interface {
	// SetKazooSyncLag records whether the projection is enabled and how far behind it is.
	SetKazooSyncLag(enabled bool, events int64, seconds float64)
	// ObserveKazooSyncBatch records a batch of events projected (ok) or failed.
	ObserveKazooSyncBatch(events int, ok bool)
}

// Service runs the projection in a long-lived process (knm serve) as kazoo_sync says:
// started when enabled, stopped when disabled, and restarted with the new settings when
// they change, without a restart of the process. Every instance reports the lag; the one
// holding the lease projects.
type Service struct {
	Store    knm.Store
	Settings func(context.Context) (config.KazooSyncConfig, error) // kazoo_sync, e.g. (*config.Config).KazooSync
	Owner    string                                                // this instance in the lease
	Observer Observer                                              // optional
	// Every is how often the settings and the lag are read; default 2 s.
	Every  time.Duration
	Logger *slog.Logger
	Now    func() time.Time

	mu      sync.Mutex
	enabled bool
	problem string // why an enabled projection does not run; "" when it runs
	proj    *Projector
}

// Status is what /readyz reports of the projection. Kazoo being behind, or CouchDB being
// down, does not make knm unready: the projection catches up once CouchDB answers.
type Status struct {
	Enabled    bool      `json:"enabled"`
	LagEvents  int64     `json:"lag_events"`
	LagSeconds float64   `json:"lag_seconds"`
	Cursor     int64     `json:"cursor"`
	Head       int64     `json:"head"`
	Owner      string    `json:"owner,omitempty"`      // the instance holding the lease
	LeaseUntil time.Time `json:"lease_until,omitzero"` // when its lease ends
	LastError  string    `json:"last_error,omitempty"` // this instance's last failure to project
	Problem    string    `json:"problem,omitempty"`    // why this instance cannot run it (settings)
}

// running is one projector started from one version of the settings.
type running struct {
	settings config.KazooSyncConfig
	proj     *Projector
	couch    *Couch
	stop     context.CancelFunc
	done     chan struct{}
}

// Run follows the settings until ctx ends, then stops the projector (which gives its lease
// up) and returns.
func (s *Service) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	var cur *running
	defer func() { s.stopRunning(cur) }()
	for {
		cur = s.follow(ctx, cur)
		s.observeLag(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// follow applies the current settings to what runs and returns what runs now. Settings
// that cannot be read or are invalid leave a running projector alone.
func (s *Service) follow(ctx context.Context, cur *running) *running {
	k, err := s.Settings(ctx)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.logger().WarnContext(ctx, "kazoo sync: settings unusable, nothing changed", "error", err)
			s.mu.Lock()
			s.problem = err.Error()
			s.mu.Unlock()
		}
		return cur
	case !k.Enabled:
		if cur != nil {
			s.logger().InfoContext(ctx, "kazoo sync: disabled, stopping the projection")
			s.stopRunning(cur)
		}
		s.setState(false, "", nil)
		return nil
	case cur != nil && cur.settings == k:
		return cur
	}
	if cur != nil {
		s.logger().InfoContext(ctx, "kazoo sync: settings changed, restarting the projection")
		s.stopRunning(cur)
	}
	next, err := s.start(ctx, k)
	if err != nil {
		s.logger().WarnContext(ctx, "kazoo sync: cannot start", "error", err)
		s.setState(true, err.Error(), nil)
		return nil
	}
	s.logger().InfoContext(ctx, "kazoo sync: projection started", "settings", k)
	s.setState(true, "", next.proj)
	return next
}

// start dials CouchDB and runs a projector with settings k until it is stopped.
func (s *Service) start(ctx context.Context, k config.KazooSyncConfig) (*running, error) {
	o := Options{Store: s.Store, Owner: s.Owner, Logger: s.logger(), Now: s.Now}
	if s.Observer != nil {
		o.OnBatch = func(batch []*knm.Event, err error) { s.Observer.ObserveKazooSyncBatch(len(batch), err == nil) }
	}
	p, err := NewProjectorFromSettings(k, o)
	if err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(ctx)
	r := &running{settings: k, proj: p, couch: p.o.Couch, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		p.Run(rctx)
	}()
	return r, nil
}

// stopRunning stops a projector and waits until it has given its lease up.
func (s *Service) stopRunning(r *running) {
	if r == nil {
		return
	}
	r.stop()
	<-r.done
	r.couch.Close()
}

// observeLag hands the current lag to the Observer.
func (s *Service) observeLag(ctx context.Context) {
	if s.Observer == nil || ctx.Err() != nil {
		return
	}
	st, err := s.Status(ctx)
	if err != nil {
		s.logger().WarnContext(ctx, "kazoo sync: lag not read", "error", err)
		return
	}
	s.Observer.SetKazooSyncLag(st.Enabled, st.LagEvents, st.LagSeconds)
}

// Status reports whether the projection is enabled and, when it is, its lag, read from the
// store now.
func (s *Service) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	st := Status{Enabled: s.enabled, Problem: s.problem}
	p := s.proj
	s.mu.Unlock()
	if !st.Enabled {
		return st, nil
	}
	lastErr := ""
	if p != nil {
		lastErr = p.LastError()
	}
	l, err := lagOf(ctx, s.Store, s.now(), lastErr)
	if err != nil {
		return st, err
	}
	st.LagEvents, st.LagSeconds, st.Cursor, st.Head = l.Events, l.Seconds, l.Cursor, l.Head
	st.Owner, st.LeaseUntil, st.LastError = l.Owner, l.LeaseUntil, l.LastError
	return st, nil
}

func (s *Service) setState(enabled bool, problem string, p *Projector) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enabled, s.problem, s.proj = enabled, problem, p
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
