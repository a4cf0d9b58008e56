package emulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds the graceful shutdown of ListenAndServe and Serve.
const shutdownTimeout = 5 * time.Second

// ListenAndServe serves a new emulator configured by cfg at addr (paths under
// /ws-voxbone/services/rest/) until ctx is cancelled, then shuts down gracefully within
// a bounded time. It returns nil after a shutdown caused by ctx.
func ListenAndServe(ctx context.Context, addr string, cfg Config) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, New(cfg))
}

// Serve serves e on ln until ctx is cancelled; it closes ln. Use it to learn the address of
// a ":0" listener or to keep a handle on the emulator.
func Serve(ctx context.Context, ln net.Listener, e *Emulator) error {
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
