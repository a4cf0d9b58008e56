package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// statusRecorder remembers the status and size of a reply for logs and metrics, and
// whether headers went out (a panic after that can only drop the connection).
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxRequestIDLen bounds a client-chosen X-Request-Id, which ends up in logs.
const maxRequestIDLen = 128

// validRequestID accepts printable ASCII ids without spaces or quotes, so a client cannot
// forge log lines through its request id.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// middleware gives every request an id (X-Request-Id, accepted from the client when sane,
// echoed back), bounds its body, recovers panics into a 500 knm error without details and
// logs one line and records metrics per request. It logs the method, the route pattern,
// the path, status and duration: never headers (X-Auth-Token), query values are harmless,
// and bodies (api_auth carries API keys) are never logged.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		ctx, auth := withAuthNote(r.Context())
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.ErrorContext(r.Context(), "panic serving request", slog.String("request_id", id),
					slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("panic", p))
				if rec.status == 0 {
					s.writeError(rec, r, &statusError{status: http.StatusInternalServerError, name: "internal_error",
						msg: "internal_error"})
				}
			}
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.ObserveHTTPRequest(route, status, d)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.logger.LogAttrs(r.Context(), level, "http request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", route),
				slog.String("path", r.URL.Path), slog.String("auth", auth.kind), slog.Int("status", status),
				slog.Int("bytes", rec.bytes), slog.Duration("duration", d), slog.String("remote", r.RemoteAddr))
		}()
		if r.ContentLength > s.maxBody {
			s.writeError(rec, r, tooLarge(s.maxBody))
			return
		}
		r.Body = http.MaxBytesReader(rec, r.Body, s.maxBody)
		next.ServeHTTP(rec, r)
	})
}

func tooLarge(limit int64) error {
	return &statusError{status: http.StatusRequestEntityTooLarge, name: "request_too_large",
		msg: "request body is larger than " + strconv.FormatInt(limit, 10) + " bytes"}
}
