// Package httpapi is knm's REST API: Kazoo crossbar-compatible phone_numbers, accounts,
// api_auth and system_configs routes (kazoo-knm §6, DESIGN §6), knm's native Voxbone
// ordering routes, health, readiness, Prometheus metrics and an OpenAPI 3 document of every
// route.
//
// Every reply uses crossbar's envelopes. Every error, including bad input, unknown routes,
// oversized bodies and panics, is a knm error object in the error envelope, so clients
// parse exactly one shape.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/carriers"
	"github.com/knmproject/knm/config"
	kazooauth "github.com/knmproject/knm/kazoo/auth"
	"github.com/knmproject/knm/locality"
	"github.com/knmproject/knm/manager"
	"github.com/knmproject/knm/metrics"
)

// Defaults of Options.
const (
	DefaultTokenTTL     = time.Hour
	DefaultMaxBodyBytes = 64 << 10
)

// Options configure a Server. Manager, Store and Config are required.
type Options struct {
	Manager *manager.Manager
	Store   knm.Store
	Config  *config.Config
	// Registry is the carrier registry, for carriers_info and check; nil means none.
	Registry *carriers.Registry
	// Voxbone serves the native ordering routes; nil when Voxbone is not configured,
	// and those routes then answer 404 saying so.
	Voxbone Voxbone
	// Node is reported in every envelope.
	Node   string
	Logger *slog.Logger
	Now    func() time.Time
	// TokenTTL is how long an auth token lives; default one hour.
	TokenTTL time.Duration
	// MaxBodyBytes bounds request bodies; default 64 KiB. Larger bodies get 413.
	MaxBodyBytes int64
	// Metrics receives the API's metrics and serves /metrics; default a fresh registry.
	Metrics *metrics.Metrics
	// KazooAuth verifies Kazoo's tokens; default one reading system_config kazoo_auth.
	KazooAuth *kazooauth.Verifier
	// CORSOrigins are the origins (scheme://host[:port]) whose pages may call the API from a
	// browser; "*" lets any origin call the routes that need no token. Default none.
	CORSOrigins []string
	// Locality answers POST …/locality and GET …/prefix?city=; default locality.Offline.
	Locality locality.Source
	// ReadyDetails, when set, adds to /readyz's reply how background work is doing (the
	// Kazoo projection's lag, …). It informs; it never makes the instance unready.
	ReadyDetails func(ctx context.Context) map[string]any
}

// Server is the REST API. Build it with New and serve Handler.
type Server struct {
	mgr      *manager.Manager
	store    knm.Store
	cfg      *config.Config
	registry *carriers.Registry
	voxbone  Voxbone
	node     string
	logger   *slog.Logger
	now      func() time.Time
	maxBody  int64
	signer   tokenSigner
	kazoo    *kazooauth.Verifier
	locality locality.Source
	metrics  *metrics.Metrics
	mux      *http.ServeMux
	wide     map[string]string // muxPath patterns -> the last path segment they serve
	handler  http.Handler

	openapiOnce  sync.Once
	openapiDoc   []byte
	streams      streams // the event streams, ended on shutdown
	readyDetails func(ctx context.Context) map[string]any
}

// New returns a Server. It reads (or, on the very first start, creates) the token signing
// secret in system_config knm.auth, so every instance sharing the database accepts the
// tokens of every other.
func New(o Options) (*Server, error) {
	if o.Manager == nil || o.Store == nil || o.Config == nil {
		return nil, errors.New("httpapi: Manager, Store and Config are required")
	}
	s := &Server{
		mgr: o.Manager, store: o.Store, cfg: o.Config, registry: o.Registry, voxbone: o.Voxbone,
		node: o.Node, logger: o.Logger, now: o.Now, maxBody: o.MaxBodyBytes, metrics: o.Metrics,
		readyDetails: o.ReadyDetails, locality: o.Locality,
	}
	if s.locality == nil {
		s.locality = locality.Offline{}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.metrics == nil {
		s.metrics = metrics.New(nil)
	}
	ttl := o.TokenTTL
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	secret, err := TokenSecret(ctx, o.Config)
	if err != nil {
		return nil, err
	}
	s.signer = tokenSigner{secret: secret, ttl: ttl, now: s.now}
	if s.kazoo, err = newKazooVerifier(o, s); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.wide = map[string]string{}
	for _, rt := range s.routes() {
		path := rt.Path
		if rt.muxPath != "" {
			path = rt.muxPath
			s.wide[rt.Method+" "+path] = rt.Path[strings.LastIndex(rt.Path, "/")+1:]
		}
		s.mux.Handle(rt.Method+" "+path, s.wrapRoute(rt))
	}
	s.mux.HandleFunc("/", s.fallback)
	withCORS, err := s.corsHandler(o.CORSOrigins, s.mux)
	if err != nil {
		return nil, err
	}
	s.handler = s.middleware(withCORS)
	return s, nil
}

// Handler returns the API's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an *http.Server serving the API with timeouts that bound slow
// clients: headers within 5 s, whole requests within 30 s, replies within 2 min (a search
// may wait for carriers up to number_search_timeout_ms and an order for Voxbone), idle
// keep-alive connections for 2 min.
func (s *Server) HTTPServer() *http.Server {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(s.closeStreams)
	return hs
}

// authMode says whether a route needs a token.
type authMode int

const (
	authNone     authMode = iota // never looks at a token (health, metrics, openapi)
	authOptional                 // uses a token when given (Kazoo's tokenless search)
	authRequired
)

// route is one API route; the table drives the mux, the OpenAPI document and the tests.
type route struct {
	Method, Path string
	Auth         authMode
	Summary      string
	Body         string // request body schema name; "" for none
	BodyOptional bool
	Query        []queryParam
	Reply        string // success data schema name
	Status       int    // success status; default 200
	// Idempotent routes take an Idempotency-Key header: a retry with it acts once.
	Idempotent bool
	handle     func(http.ResponseWriter, *http.Request) error
	// muxPath, when set, is the pattern registered instead of Path: a wider one whose
	// handler checks the rest, where Path would conflict with another route's pattern.
	muxPath string
}

type queryParam struct {
	Name, Type, Doc string
	Pattern         string // optional regular expression the value matches
}

// Routes lists "METHOD PATH" of every route, for tools and tests.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.Method+" "+rt.Path)
	}
	return out
}

func (s *Server) routes() []route {
	return slices.Concat(s.eventRoutes(), s.serviceRoutes(), s.accountRoutes(), s.numberRoutes(), s.kazooRoutes(),
		s.voxboneRoutes())
}

// searchQuery documents the query of a number search, as manager.ParseSearch reads it.
var searchQuery = []queryParam{
	{Name: "prefix", Type: "string",
		Doc: "national prefix: 1-15 digits, optionally ending in * (a toll-free wildcard); whitespace is removed " +
			"first. Kazoo's 3-10 digit prefixes all qualify", Pattern: manager.PrefixPattern},
	{Name: "quantity", Type: "integer", Doc: "numbers wanted, >= 1"},
	{Name: "offset", Type: "integer", Doc: "item offset into the cached results"},
	{Name: "country", Type: "string", Doc: "ISO 3166 alpha-2, default US"},
	{Name: "reseller_id", Type: "string", Doc: "global search only: search as this reseller, allowed when its " +
		"number_manager.unauthorized_numbers_lookup is true"},
	{Name: "blocks", Type: "integer", Doc: "searchBlocks: up to this many ranges of quantity consecutive numbers, " +
		"as [{start_number, end_number}]"},
}

// listingQuery documents the query of an account's numbers: a search with prefix, else a
// listing.
var listingQuery = append(slices.Clone(searchQuery),
	queryParam{Name: "filter_state", Type: "string",
		Doc: `only numbers in this state, or in any of a JSON list of states (["in_service","port_in"])`},
	queryParam{Name: "filter_assigned_to", Type: "string", Doc: "only numbers of this account (with cascade: " +
		"the account or one of its descendants)"},
	queryParam{Name: "cascade", Type: "boolean", Doc: "list the numbers of the account's descendants too"},
	queryParam{Name: "start_key", Type: "string", Doc: "the next_start_key of the previous page"},
	queryParam{Name: "page_size", Type: "integer", Doc: "listing page size, 1-1000 (default 1000); larger is 400 invalid"})

// serviceRoutes are health, metrics, the API document, login and the tokenless search.
func (s *Server) serviceRoutes() []route {
	return []route{
		{Method: "GET", Path: "/healthz", Auth: authNone, Summary: "process alive", Reply: "Health", handle: s.healthz},
		{Method: "GET", Path: "/readyz", Auth: authNone, Summary: "store reachable; kazoo_sync lag beside",
			Reply: "Health", handle: s.readyz},
		{Method: "GET", Path: "/metrics", Auth: authNone, Summary: "Prometheus metrics (text format)",
			Reply: "-metrics", handle: s.serveMetrics},
		{Method: "GET", Path: "/v2/openapi.json", Auth: authNone, Summary: "this document", Reply: "-openapi",
			handle: s.serveOpenAPI},
		{Method: "PUT", Path: "/v2/api_auth", Auth: authNone, Summary: "exchange an API key for a token",
			Body: "APIAuthRequest", Reply: "APIAuth", Status: 201, handle: s.apiAuth},
		{Method: "GET", Path: "/v2/phone_numbers", Auth: authOptional, Summary: "search numbers (no token needed)",
			Query: searchQuery, Reply: "SearchOrBlocks", Idempotent: true, handle: s.searchGlobal},
	}
}

// accountRoutes create and read accounts, and read and replace system_config documents.
func (s *Server) accountRoutes() []route {
	return []route{
		{Method: "PUT", Path: "/v2/accounts", Auth: authRequired,
			Summary: "create a sub-account; its API key is shown once", Body: "AccountCreate", Reply: "AccountWithKey",
			Status: 201, handle: s.createAccount},
		{Method: "GET", Path: "/v2/accounts/{account_id}", Auth: authRequired, Summary: "read an account",
			Reply: "Account", handle: s.getAccount},
		{Method: "GET", Path: "/v2/system_configs/{category}", Auth: authRequired,
			Summary: "read a system_config document, secrets redacted (master only)", Reply: "Object",
			handle: s.getSystemConfig},
		{Method: "POST", Path: "/v2/system_configs/{category}", Auth: authRequired,
			Summary: "replace a system_config document (master only; knm.* internal state is refused with 403)",
			Body:    "Object", Reply: "Object",
			handle: s.postSystemConfig},
	}
}

// numberRoutes are crossbar's phone_numbers routes of one account.
func (s *Server) numberRoutes() []route {
	pn := "/v2/accounts/{account_id}/phone_numbers"
	num := pn + "/{number}"
	return []route{
		{Method: "GET", Path: pn, Auth: authRequired, Summary: "with prefix: search; without: the account's numbers",
			Query: listingQuery, Reply: "SearchOrListing", Idempotent: true, handle: s.accountNumbers},
		{Method: "GET", Path: pn + "/carriers_info", Auth: authRequired, Summary: "carriers usable by the account",
			Reply: "CarriersInfo", handle: s.carriersInfo},
		{Method: "GET", Path: pn + "/classifiers", Auth: authRequired, Summary: "number classifiers", Reply: "Object",
			handle: s.classifiers},
		{Method: "GET", Path: pn + "/classifiers/{number}", Auth: authRequired, Summary: "classify a number",
			Reply: "Classification", handle: s.classifyNumber},
		{Method: "POST", Path: pn + "/check", Auth: authRequired, Summary: "ask carriers about numbers",
			Body: "NumbersRequest", Reply: "StringMap", handle: s.check},
		{Method: "PUT", Path: pn + "/collection", Auth: authRequired, Summary: "create many numbers",
			Body: "CollectionCreate", Reply: "Collection", Status: 201, handle: s.collectionCreate},
		{Method: "DELETE", Path: pn + "/collection", Auth: authRequired, Summary: "release many numbers",
			Body: "NumbersRequest", Reply: "Collection", handle: s.collectionRelease},
		{Method: "PUT", Path: pn + "/collection/activate", Auth: authRequired, Summary: "buy many numbers",
			Body: "NumbersRequest", Reply: "Collection", Status: 201, Idempotent: true,
			handle: s.collectionActivate},
		{Method: "GET", Path: num, Auth: authRequired, Summary: "read a number", Reply: "Number", handle: s.getNumber},
		{Method: "PUT", Path: num, Auth: authRequired, Summary: "create a number", Body: "NumberCreate",
			BodyOptional: true, Reply: "Number", Status: 201, handle: s.createNumber},
		{Method: "POST", Path: num, Auth: authRequired, Summary: "replace the public fields", Body: "NumberUpdate",
			Reply: "Number", handle: s.updateNumber},
		{Method: "PATCH", Path: num, Auth: authRequired, Summary: "merge the public fields (null removes one)",
			Body: "NumberUpdate", Reply: "Number", handle: s.patchNumber},
		{Method: "DELETE", Path: num, Auth: authRequired, Summary: "release; hard=true deletes (superduper admin)",
			Query: []queryParam{{Name: "hard", Type: "boolean", Doc: "delete for good"}}, Reply: "Number",
			handle: s.deleteNumber},
		{Method: "PUT", Path: num + "/activate", Auth: authRequired,
			Summary: "buy or move into the account, in_service", Body: "Object", BodyOptional: true, Reply: "Number",
			Status: 201, handle: s.activate},
		{Method: "PUT", Path: num + "/reserve", Auth: authRequired, Summary: "reserve for the account", Body: "Object",
			BodyOptional: true, Reply: "Number", Status: 201, handle: s.reserve},
	}
}

// voxboneRoutes are knm's native Voxbone routes.
func (s *Server) voxboneRoutes() []route {
	return []route{
		{Method: "GET", Path: "/v2/voxbone/didgroups", Auth: authRequired,
			Summary: "Voxbone DID groups with stock and prices", Query: []queryParam{{Name: "country", Type: "string",
				Doc: "ISO alpha-3 or alpha-2"}, {Name: "area_code", Type: "string"}, {Name: "type", Type: "string",
				Doc: "GEOGRAPHIC, TOLL_FREE, …"}}, Reply: "Any", handle: s.voxboneDIDGroups},
		{Method: "GET", Path: "/v2/voxbone/balance", Auth: authRequired, Summary: "Voxbone account balance",
			Reply: "Any", handle: s.voxboneBalance},
		{Method: "POST", Path: "/v2/voxbone/orders", Auth: authRequired,
			Summary: "order DIDs (idempotent with idempotency_key or Idempotency-Key)", Body: "VoxboneOrderRequest",
			Reply: "VoxboneOrder", Status: 201, handle: s.voxboneOrder},
		{Method: "GET", Path: "/v2/voxbone/orders", Auth: authRequired,
			Summary: "list every Voxbone order the caller may see; the list is not paged, so it takes no query " +
				"parameters (page_size and any other are ignored, as on every route that does not read them)",
			Reply: "VoxboneOrders", handle: s.voxboneOrders},
		{Method: "GET", Path: "/v2/voxbone/orders/{id}", Auth: authRequired, Summary: "one Voxbone order",
			Reply: "VoxboneOrder", handle: s.voxboneGetOrder},
		{Method: "POST", Path: "/v2/voxbone/routing", Auth: authRequired,
			Summary: "apply the routing settings (voice URI, trunk, …) to DIDs knm holds; dry_run only lists " +
				"what differs (master only)", Body: "VoxboneRoutingRequest", Reply: "Any", handle: s.voxboneRouting},
	}
}

// wrapRoute adds authentication and turns a handler's error into the error envelope.
func (s *Server) wrapRoute(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Auth != authNone {
			a, err := s.authenticate(r)
			s.noteAuth(r, a, err)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if a == nil && rt.Auth == authRequired {
				s.writeError(w, r, knm.Errorf(knm.ErrUnauthorized,
					"authentication required").WithCause("send X-Auth-Token (from PUT /v2/api_auth)"))
				return
			}
			if a != nil {
				r = r.WithContext(withAuth(r.Context(), a))
			}
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// fallback answers paths no route matches: 405 when another method would match, else 404.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{"GET", "PUT", "POST", "PATCH", "DELETE"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if pattern := s.muxPattern(probe); pattern != "" {
			s.writeError(w, r, &statusError{status: http.StatusMethodNotAllowed, name: "method_not_allowed",
				msg: fmt.Sprintf("method %s is not allowed here", r.Method)})
			return
		}
	}
	s.writeError(w, r, &statusError{status: http.StatusNotFound, name: "not_found",
		msg: "no such route: " + r.URL.Path})
}

// muxPattern returns the pattern of the route that serves r, "" for none: a muxPath
// pattern serves only the path of its route.
func (s *Server) muxPattern(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	if pattern == "/" {
		return ""
	}
	if last, ok := s.wide[pattern]; ok && r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:] != last {
		return ""
	}
	return pattern
}

// statusError is an HTTP-level error that has no knm error name (unknown route, wrong
// method, oversized body).
type statusError struct {
	status    int
	name, msg string
	data      any // the error envelope's data instead of the knm error object, when set
}

func (e *statusError) Error() string { return e.msg }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	s.writeData(w, r, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.Handler().ServeHTTP(w, r)
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	// Any read that touches the database proves it is reachable; a missing document is fine.
	if _, err := s.store.GetConfig(ctx, "", authCategory); err != nil && !knm.IsErrorName(err, knm.ErrNotFound) {
		s.logger.WarnContext(ctx, "readiness check failed", "request_id", requestID(r), "error", err)
		return knm.Errorf(knm.ErrUnavailable, "store unreachable")
	}
	reply := map[string]any{}
	if s.readyDetails != nil {
		reply = s.readyDetails(ctx)
	}
	reply["status"] = "ready"
	s.writeData(w, r, http.StatusOK, reply)
	return nil
}
