// Package emulator is a stateful, in-process emulator of the Voxbone REST API v3
// (ws-voxbone/services/rest): inventory search, carts, checkout, orders, DIDs, cancellation
// and configuration (voice URIs, bulk DID configuration). It stands in for the real Voxbone
// in knm's tests and in `knm demo`, so it is deliberately strict where Voxbone is documented
// to be strict and lenient only where real clients are known to rely on leniency
// (voxbone-api.md §1.5).
//
// The emulator serves paths "/ws-voxbone/services/rest/<resource>"; mount it under any
// prefix with http.StripPrefix. Every error is a Voxbone error envelope with
// Content-Type application/json.
//
// Where voxbone-api.md marks behaviour as uncertain, the emulator chooses:
//   - Business errors are HTTP 400 with the catalogue code; bad credentials 401, unknown
//     paths 404 (code 15), wrong methods 405 (code 23). Auth, rate-limit and injected-fault
//     errors carry their HTTP status as apiErrorCode. apiModule is INVENTORY, ORDERING,
//     CONFIGURATION or COMMON.
//   - Checkout refuses (400, code 409, nothing changed) when the balance is not positive or
//     is below Σ qty×(setup100+monthly100)/100. It debits only the DIDs allocated now; DIDs
//     short of stock are back-ordered ("PARTIAL" product and order, message with the count)
//     and delivered only when a test calls DeliverBackOrders. The cart survives, emptied
//     (orderProducts null).
//   - One order per product type of the cart; references are "<AccountNumber>DS<seq>".
//   - Cancel is all or nothing (code 414); stock is not restored; dateCanceled stays null.
//   - areaCode accepts a trailing "*" or "%" as a prefix wildcard; e164Pattern follows
//     §7.4 (LIKE anchored at both ends when it holds "%", substring otherwise).
//   - The rate limit counts accepted requests by arrival time; refused ones do not count.
//   - Dates are rendered in UTC.
//   - configuration/configuration takes at most Config.ConfigBatchLimit DIDs (error 360),
//     refuses duplicated ids (343) and unknown DIDs (300), all or nothing; the voiceuri list
//     filters uri and description by substring.
package emulator

import (
	"crypto/subtle"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// BasePath is the path prefix under which the emulator serves the API.
const BasePath = "/ws-voxbone/services/rest/"

// DefaultConfigBatchLimit is the emulator's default bulk limit of configuration/configuration.
// Voxbone documents that a limit exists (error 360) but not its value.
const DefaultConfigBatchLimit = 100

// maxBody bounds the request bodies the emulator reads; Voxbone requests are tiny.
const maxBody = 1 << 20

// Config configures an Emulator. The zero value is a usable, unauthenticated emulator.
type Config struct {
	// Username and Password are the HTTP Basic credentials. When both are empty and APIKey
	// is empty too, no authentication is required.
	Username, Password string
	// APIKey, if set, is accepted in an `apikey: <key>` header as an alternative to Basic
	// auth (and makes authentication required even without Username/Password).
	APIKey string
	// AccountNumber prefixes order references "<AccountNumber>DS<seq>"; default "50898".
	AccountNumber string
	// Balance is the initial account balance in currency units; default 500.0 (use
	// SetBalance for an empty account).
	Balance float64
	// Currency is the account currency; default "USD".
	Currency string
	// RateLimit is the most requests one client IP may make in any one-second window
	// (sliding, by arrival time); 0 means unlimited.
	RateLimit int
	// RateLimitStatus is the HTTP status of refused requests: 429 (default) or 509.
	RateLimitStatus int
	// Latency is added to every request before it is answered.
	Latency time.Duration
	// ConfigBatchLimit is the most DIDs one configuration/configuration request may name
	// (error 360 BULK_DID_CONFIGURATION_LIMIT_EXCEEDED beyond); default DefaultConfigBatchLimit.
	ConfigBatchLimit int
	// Seed makes generated ids and DIDs deterministic: the same seed and the same sequence
	// of requests give the same responses.
	Seed int64
	// Now is the clock; default time.Now. Dates in bodies are rendered in UTC.
	Now func() time.Time
	// Logger receives one debug line per request; default discards. Credentials are never
	// logged.
	Logger *slog.Logger
}

// Emulator is an in-memory Voxbone account. It is safe for concurrent use.
type Emulator struct {
	cfg  Config
	now  func() time.Time
	log  *slog.Logger
	auth bool

	mu         sync.Mutex // guards everything below
	rng        *rand.Rand
	countries  []Country
	states     map[string][]State
	features   []Feature
	groups     map[int]*DIDGroup
	balance    float64
	carts      map[int]*cartState
	orders     []*Order
	backOrders []*backOrder // DID lines short of stock at checkout, oldest first
	dids       []*didState  // every DID ever allocated, in allocation order
	didByID    map[int]*didState
	usedE164   map[string]bool
	voiceURIs  []*VoiceURI
	seq        sequences
	faults     []*faultState
	limiter    *rateLimiter
	requests   []*RequestRecord
	calls      map[string]int // per endpoint since the last ResetRequests
}

// maxRecords bounds the request log of a long-running emulator (`knm demo`); Calls keeps
// counting past it.
const maxRecords = 100_000

// sequences are the id counters; they start at seeded values so that ids look real and
// differ between seeds.
type sequences struct {
	cart, product, order, orderRef, did, voiceURI int
}

// New returns an emulator with the default catalogue loaded.
func New(cfg Config) *Emulator {
	if cfg.AccountNumber == "" {
		cfg.AccountNumber = "50898"
	}
	if cfg.Balance == 0 {
		cfg.Balance = 500.0
	}
	if cfg.Currency == "" {
		cfg.Currency = "USD"
	}
	if cfg.ConfigBatchLimit <= 0 {
		cfg.ConfigBatchLimit = DefaultConfigBatchLimit
	}
	if cfg.RateLimitStatus == 0 {
		cfg.RateLimitStatus = http.StatusTooManyRequests
	}
	e := &Emulator{
		cfg:      cfg,
		now:      cfg.Now,
		log:      cfg.Logger,
		auth:     cfg.Username != "" || cfg.Password != "" || cfg.APIKey != "",
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x766f78626f6e65)),
		states:   defaultStates(),
		groups:   map[int]*DIDGroup{},
		balance:  cfg.Balance,
		carts:    map[int]*cartState{},
		didByID:  map[int]*didState{},
		usedE164: map[string]bool{},
		calls:    map[string]int{},
		limiter:  newRateLimiter(cfg.RateLimit),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.countries = append(e.countries, defaultCountries...)
	e.features = append(e.features, defaultFeatures...)
	byID := map[int]Feature{}
	for _, f := range e.features {
		byID[f.FeatureID] = f
	}
	for _, s := range defaultGroups {
		g := s.group(byID)
		e.groups[g.DIDGroupID] = &g
	}
	e.seq = sequences{
		cart:     3312757 + e.rng.IntN(100000),
		product:  4410885 + e.rng.IntN(100000),
		order:    1895555 + e.rng.IntN(100000),
		orderRef: 3919643 + e.rng.IntN(100000),
		did:      5666963 + e.rng.IntN(100000),
		voiceURI: 120000 + e.rng.IntN(10000),
	}
	return e
}

// request is one parsed API request, handed to the endpoint handlers.
type request struct {
	method string
	segs   []string // path segments below BasePath
	query  query
	body   []byte
	module string // apiModule of errors: INVENTORY, ORDERING, CONFIGURATION
	now    time.Time
}

// RequestRecord is what the emulator remembers of one request, for tests.
type RequestRecord struct {
	Time     time.Time
	Method   string
	Path     string
	Endpoint string // "" when the path or method matched no endpoint
	RawQuery string
	RemoteIP string
	Status   int // 0 while in flight, and for dropped connections
	Body     []byte
}

// ServeHTTP serves the API at paths "/ws-voxbone/services/rest/<resource>".
//
// Requests pass, in order: recording, the rate limit (by arrival time), Config.Latency,
// authentication, routing (404/405), faults, then the endpoint itself.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Kazoo sends `[]` on GET and DELETE; bodies are read (to record them) and ignored there.
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	segs, routed := splitPath(r.URL.Path)
	rt, endpoint, methodOK := match(r.Method, segs, routed)
	ip := remoteIP(r)

	rec, allowed := e.record(&RequestRecord{Method: r.Method, Path: r.URL.Path, Endpoint: endpoint,
		RawQuery: r.URL.RawQuery, RemoteIP: ip, Body: body})
	now := rec.Time
	q := &request{method: r.Method, segs: segs, body: body, now: now, module: moduleOf(segs)}
	finish := func(status int, v any) {
		e.mu.Lock()
		rec.Status = status
		e.mu.Unlock()
		if status != 0 {
			writeJSON(w, status, v)
		}
		e.log.Debug("voxbone emulator", "method", r.Method, "path", r.URL.Path, "endpoint", endpoint, "status", status)
	}

	if !allowed {
		st := e.cfg.RateLimitStatus
		finish(st, envelope(st, "COMMON", st, "Rate limit exceeded: too many requests from this IP."))
		return
	}
	if !sleep(r, e.cfg.Latency) {
		// The client left or the server is shutting down: an empty 200 would read as
		// success, so answer nothing.
		finish(0, nil)
		dropConnection(w)
		return
	}
	if !e.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Voxbone API"`)
		st := http.StatusUnauthorized
		finish(st, envelope(st, "COMMON", st, "Authentication failed: invalid credentials."))
		return
	}
	if rt == nil {
		st := http.StatusNotFound
		finish(st, envelope(st, q.module, 15, "The requested resource was not found: "+r.URL.Path))
		return
	}
	if !methodOK {
		finish(http.StatusMethodNotAllowed, envelope(http.StatusMethodNotAllowed, q.module, 23, errorText[23]))
		return
	}
	q.query = parseQuery(r.URL.RawQuery)

	f := e.takeFault(endpoint)
	if !sleep(r, f.latency) {
		finish(0, nil)
		dropConnection(w)
		return
	}
	if (f.status != 0 || f.drop) && !f.afterEffect {
		e.fail(w, f, q, finish)
		return
	}

	e.mu.Lock()
	v, err := rt.handlers[endpoint](e, q)
	e.mu.Unlock()

	if f.status != 0 || f.drop {
		e.fail(w, f, q, finish)
		return
	}
	if err != nil {
		fe := asFailure(err)
		finish(fe.status, envelope(fe.status, q.module, fe.code, fe.msg))
		return
	}
	finish(http.StatusOK, v)
}

// record keeps rec (stamped now) in the request log, counts its endpoint and reports whether
// the rate limit lets it through.
func (e *Emulator) record(rec *RequestRecord) (*RequestRecord, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec.Time = e.now()
	if len(e.requests) >= maxRecords {
		e.requests = slices.Delete(e.requests, 0, maxRecords/10)
	}
	e.requests = append(e.requests, rec)
	e.calls[rec.Endpoint]++
	return rec, e.limiter.allow(rec.RemoteIP, rec.Time)
}

// fail answers a faulted request: with the fault's status, or by dropping the connection.
func (e *Emulator) fail(w http.ResponseWriter, f activeFault, q *request, finish func(int, any)) {
	if f.drop {
		finish(0, nil)
		dropConnection(w)
		return
	}
	finish(f.status, envelope(f.status, q.module, f.status, "Injected fault: the service is unavailable."))
}

// dropConnection closes the client connection without writing any response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 or a wrapped writer: abort the handler, which resets the stream without a reply.
	panic(http.ErrAbortHandler)
}

func (e *Emulator) authorized(r *http.Request) bool {
	if !e.auth {
		return true
	}
	if e.cfg.APIKey != "" {
		if k := r.Header.Get("apikey"); k != "" && subtle.ConstantTimeCompare([]byte(k), []byte(e.cfg.APIKey)) == 1 {
			return true
		}
	}
	if e.cfg.Username == "" && e.cfg.Password == "" {
		return false
	}
	u, p, ok := r.BasicAuth()
	userOK := subtle.ConstantTimeCompare([]byte(u), []byte(e.cfg.Username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(p), []byte(e.cfg.Password)) == 1
	return ok && userOK && passOK
}

// sleep waits d, or less if the client goes away; it reports whether the client is still there.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// splitPath returns the path segments below BasePath; a trailing slash is tolerated because
// the PHP client requests ordering/cart/{id}/.
func splitPath(p string) ([]string, bool) {
	rest, ok := strings.CutPrefix(p, BasePath)
	if !ok {
		return nil, false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return nil, false
	}
	return strings.Split(rest, "/"), true
}

func moduleOf(segs []string) string {
	if len(segs) == 0 {
		return "COMMON"
	}
	switch segs[0] {
	case "inventory", "ordering", "configuration", "regulation":
		return strings.ToUpper(segs[0])
	}
	return "COMMON"
}
