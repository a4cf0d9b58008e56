// Package web is knm's browser console, served by `knm serve` and `knm demo` at /: sign in
// with an API key, a dashboard, search and buy with a quote, the numbers table and a
// number's detail, Voxbone orders, reconcile, accounts and settings.
//
// Pages are rendered on the server with html/template and work without JavaScript; htmx
// (vendored, embedded) follows a purchase as it happens. The console is a client of the
// same layer as the REST API: every read and change goes through the manager (one
// permission model, one validation), including the decisions about API keys and number
// payloads (manager.AccountByAPIKey, CreateAccountWithKey, CheckNumberPayload).
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/config"
	"github.com/knmproject/knm/manager"
)

// DefaultSessionTTL is how long a console session lasts.
const DefaultSessionTTL = 8 * time.Hour

// maxFormBytes bounds a form body.
const maxFormBytes = 256 << 10

// Options configure a Server. Manager, Store and Config are required.
type Options struct {
	Manager *manager.Manager
	Store   knm.Store
	Config  *config.Config
	// Registry names the carrier modules for filters and settings; nil means none.
	Registry *carriers.Registry
	// Voxbone is the knm_voxbone carrier (VoxboneFrom); nil when knm runs without it.
	Voxbone    Voxbone
	Logger     *slog.Logger
	Now        func() time.Time
	SessionTTL time.Duration // default DefaultSessionTTL
}

// Server is the console. Build it with New and mount Handler (or Mount the API beside it).
type Server struct {
	mgr      *manager.Manager
	store    knm.Store
	cfg      *config.Config
	registry *carriers.Registry
	vox      Voxbone
	logger   *slog.Logger
	now      func() time.Time
	sess     *sessions
	assets   *assetSet
	pages    map[string]*pageTemplate
	mux      *http.ServeMux

	onceMu sync.Mutex
	once   map[string]onceLink // one-time sign-in links
}

// New returns a Server. It reads (or creates) system_config knm.auth
// console_session_secret, from which the session keys are derived, so every instance
// sharing the database accepts every other's sessions.
func New(o Options) (*Server, error) {
	if o.Manager == nil || o.Store == nil || o.Config == nil {
		return nil, errors.New("web: Manager, Store and Config are required")
	}
	s := &Server{mgr: o.Manager, store: o.Store, cfg: o.Config, registry: o.Registry, vox: o.Voxbone,
		logger: o.Logger, now: o.Now, once: map[string]onceLink{}}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	ttl := o.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var err error
	if s.sess, err = newSessions(ctx, o.Config, o.Store, ttl, s.now, s.logger); err != nil {
		return nil, err
	}
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(s.assets); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.routes()
	return s, nil
}

// Mount returns a handler serving the REST API (api) at /v2/, /healthz, /readyz and
// /metrics, and the console everywhere else.
func (s *Server) Mount(api http.Handler) http.Handler {
	top := http.NewServeMux()
	for _, p := range []string{"/v2/", "/healthz", "/readyz", "/metrics"} {
		top.Handle(p, api)
	}
	top.Handle("/", s.Handler())
	return top
}

// Handler returns the console's handler.
func (s *Server) Handler() http.Handler { return s.middleware(s.mux) }

// routes registers every page. Pages that need a session go through s.page, forms that
// change anything through s.action (session and CSRF token checked).
func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /assets/", s.assets)
	m.HandleFunc("GET /signin", s.signInForm)
	m.HandleFunc("POST /signin", s.signIn)
	m.HandleFunc("GET /signin/once/{token}", s.onceForm)
	m.Handle("POST /signout", s.action(s.signOut))
	m.Handle("POST /signout/everywhere", s.action(s.signOutEverywhere))
	m.Handle("POST /sessions/rotate", s.action(s.rotateSessions))
	m.Handle("GET /{$}", s.page(s.dashboard))
	m.Handle("GET /numbers", s.page(s.numbers))
	m.Handle("POST /numbers/bulk", s.action(s.bulk))
	m.Handle("GET /numbers/{number}", s.page(s.numberDetail))
	m.Handle("POST /numbers/{number}/features", s.action(s.saveFeatures))
	m.Handle("GET /search", s.page(s.search))
	m.Handle("POST /search/buy", s.action(s.buy))
	m.Handle("GET /buy/{id}", s.page(s.buyProgress))
	m.Handle("GET /orders", s.page(s.orders))
	m.Handle("POST /orders", s.action(s.placeOrder))
	m.Handle("GET /orders/{id}", s.page(s.orderDetail))
	m.Handle("POST /orders/{id}/settle", s.action(s.settleOrder))
	m.Handle("GET /reconcile", s.page(s.reconcile))
	m.Handle("POST /reconcile", s.action(s.runReconcile))
	m.Handle("GET /accounts", s.page(s.accounts))
	m.Handle("POST /accounts", s.action(s.createAccount))
	m.Handle("GET /settings", s.page(s.settings))
	m.Handle("POST /settings/{category}", s.action(s.saveSettings))
	m.HandleFunc("/", s.notFound)
}

// securityHeaders keep the console to its own origin: no inline script, no framing, no
// referrer leaving the site.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
	"X-Frame-Options":        "DENY",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
}

// middleware sets the security headers, bounds form bodies, refuses cross-origin
// state-changing requests (Sec-Fetch-Site / Origin) and turns a panic into an error page.
func (s *Server) middleware(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, nil, knm.Forbidden("cross-origin request refused"))
	}))
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.ErrorContext(r.Context(), "web: panic", "path", r.URL.Path, "panic", p)
				s.renderError(w, r, nil, errors.New("panic"))
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		next.ServeHTTP(w, r)
	}))
}

// handler is a console page or action: it renders or redirects itself, or returns an
// error for the error page.
type handler func(w http.ResponseWriter, r *http.Request, me *knm.Account) error

// page serves a GET that needs a session: without one the browser goes to sign in and
// comes back here afterwards.
func (s *Server) page(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me, ok := s.signedIn(w, r)
		if !ok {
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r, me); err != nil {
			s.renderError(w, r, me, err)
		}
	})
}

// action serves a POST that needs a session and the session's CSRF token. A lost session
// goes to sign in and back to the page the form was on.
func (s *Server) action(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me, ok := s.signedIn(w, r)
		if !ok {
			return
		}
		if err := r.ParseForm(); err != nil {
			s.renderError(w, r, me, knm.Errorf(knm.ErrInvalid, "the form could not be read: %v", err))
			return
		}
		se, _ := s.sess.read(r)
		if !s.sess.checkCSRF(r, se.ID) {
			s.renderError(w, r, me, knm.Forbidden("csrf").WithCause(
				"the form's security token is missing or stale; reload the page and try again"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r, me); err != nil {
			s.renderError(w, r, me, err)
		}
	})
}

// signedIn returns the account of r's session. Without a valid session (see sessions) or
// with its account gone or disabled, it sends the browser to sign in and returns false.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) (*knm.Account, bool) {
	if se, ok := s.sess.read(r); ok {
		acc, err := s.store.GetAccount(r.Context(), se.AccountID)
		revoked := false
		if err == nil {
			revoked, err = s.sess.revoked(r.Context(), se)
		}
		switch {
		case err == nil && acc.Enabled && !revoked:
			return acc, true
		case err != nil && !knm.IsErrorName(err, knm.ErrNotFound):
			s.renderError(w, r, nil, err)
			return nil, false
		}
	}
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = refererPath(r)
	}
	target := "/signin?next=" + urlQueryEscape(next)
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil, false
}

// refererPath is the local path of the page a form was posted from, "/" when unknown.
func refererPath(r *http.Request) string {
	ref := r.Referer()
	if i := strings.Index(ref, "://"); i >= 0 {
		rest := ref[i+3:]
		host, path, _ := strings.Cut(rest, "/")
		if host == r.Host {
			return safeNext("/" + path)
		}
	}
	return "/"
}

// safeNext keeps a return path local: "/" unless next is a path on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	se, _ := s.sess.read(r)
	var me *knm.Account
	if se.AccountID != "" {
		me, _ = s.store.GetAccount(r.Context(), se.AccountID)
	}
	s.renderError(w, r, me, knm.Errorf(knm.ErrNotFound, "no such page: %s", r.URL.Path))
}
