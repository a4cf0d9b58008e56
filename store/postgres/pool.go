package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pool is a small connection pool over pgx.Conn.
//
// pgxpool would be the natural choice, but it needs github.com/jackc/puddle/v2 and
// golang.org/x/sync, which go.mod does not list; this package may not change go.mod.
// Everything here goes through withConn, so moving to pgxpool.Pool.AcquireFunc later is a
// local change.
type pool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per open or opening connection

	mu     sync.Mutex
	idle   []idleConn
	closed bool
}

type idleConn struct {
	conn  *pgx.Conn
	since time.Time
}

// pingAfter is how long a connection may sit idle before it is checked on reuse, so
// that a server restart or a dropped connection costs a ping instead of a failed call.
var pingAfter = 30 * time.Second // a variable for tests

func newPool(cfg *pgx.ConnConfig, maxConns int) *pool {
	return &pool{cfg: cfg, slots: make(chan struct{}, maxConns)}
}

// acquire returns an idle connection or dials a new one, waiting for a free slot until
// ctx is done.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	for n := len(p.idle); n > 0; n = len(p.idle) {
		ic := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if time.Since(ic.since) < pingAfter || ic.conn.Ping(ctx) == nil {
			return ic.conn, nil
		}
		closeConn(ic.conn)
		if ctx.Err() != nil {
			<-p.slots
			return nil, ctx.Err()
		}
		p.mu.Lock()
	}
	p.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// release puts c back, or closes it when it cannot be reused: broken by an error or a
// cancelled query, or left inside a transaction.
func (p *pool) release(c *pgx.Conn) {
	defer func() { <-p.slots }()
	reusable := !c.IsClosed() && !c.PgConn().IsBusy() && c.PgConn().TxStatus() == 'I'
	p.mu.Lock()
	if reusable && !p.closed {
		p.idle = append(p.idle, idleConn{c, time.Now()})
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	closeConn(c)
}

// close closes the idle connections; connections in use are closed on release.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, ic := range idle {
		closeConn(ic.conn)
	}
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.Close(ctx)
}
