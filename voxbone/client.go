// Package voxbone is a typed client of the Voxbone REST API v3 (ws-voxbone/services/rest):
// inventory, ordering and the parts of configuration knm needs. It knows nothing of knm.
//
// Every method takes a context first, sends at most one request per attempt through the
// configured rate limiter, and returns *Error for any non-2xx answer. A limiter that is a
// ratelimit.Reserver is charged when the request is really sent, not when it is granted
// (see Client.attempt). Only requests that are safe to repeat (GETs other than checkout, and
// cart deletion) are ever retried. The List methods look alike on purpose: one per endpoint,
// each naming its endpoint, filters and wire field.
//
// Credentials never appear in errors, logs or URLs: they travel only in the Authorization
// or apikey header, and base URLs that carry userinfo are refused.
package voxbone

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/knmproject/knm/ratelimit"
)

// Environment base URLs (voxbone-api.md §1.1).
const (
	ProductionURL = "https://api.voxbone.com/ws-voxbone/services/rest"
	SandboxURL    = "https://sandbox.voxbone.com/ws-voxbone/services/rest"
	BetaURL       = "https://beta.voxbone.com/ws-voxbone/services/rest"
)

// Defaults.
const (
	// DefaultPageSize is the page size of list calls when none is given (Kazoo's default).
	DefaultPageSize = 20
	// MaxPageSize is the largest page Voxbone serves (error 12 WRONG_PAGE_SIZE beyond it).
	MaxPageSize = 5000
	// DefaultRequestTimeout bounds one HTTP attempt, body included. Voxbone answers in well
	// under a second; 15 s leaves room for a slow 5000-item page without letting a hung
	// connection hold a caller (and its rate-limit slot) for minutes.
	DefaultRequestTimeout = 15 * time.Second
	// MaxResponseBytes bounds how much of a response body is read. The largest legitimate
	// body is a 5000-DID page of inventory/did, about 1 KiB per pretty-printed DID (~5 MiB);
	// 16 MiB leaves headroom while keeping a broken or hostile server from exhausting memory.
	MaxResponseBytes = 16 << 20
	// DefaultUserAgent identifies the client to Voxbone.
	DefaultUserAgent = "knm-voxbone/1 (+https://github.com/knmproject/knm)"
)

// Client is a Voxbone REST v3 client. It is safe for concurrent use.
type Client struct {
	base        *url.URL // ends with "/"
	httpClient  *http.Client
	userAgent   string
	username    string
	password    string
	apiKey      string
	pageSize    int
	pageWorkers int // pages of one DID group listing fetched at once
	limiter     ratelimit.Limiter
	retry       RetryPolicy
	logger      *slog.Logger
	timeout     time.Duration
	observer    func(endpoint string, status int, dur time.Duration)
	secrets     []string // scrubbed from any server text kept in errors

	// sleep waits between retries; tests replace it to observe backoff without waiting.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client. Options are applied in order; an invalid one makes New fail.
type Option func(*Client) error

// WithEnvironment selects the base URL of "production", "sandbox" (the default) or "beta".
func WithEnvironment(env string) Option {
	return func(c *Client) error {
		var raw string
		switch env {
		case "production":
			raw = ProductionURL
		case "sandbox":
			raw = SandboxURL
		case "beta":
			raw = BetaURL
		default:
			return fmt.Errorf("voxbone: unknown environment %q (want production, sandbox or beta)", env)
		}
		return WithBaseURL(raw)(c)
	}
}

// WithBaseURL replaces the whole base URL, path included, e.g.
// "http://127.0.0.1:8089/ws-voxbone/services/rest". A trailing slash is optional. URLs that
// carry credentials (user:pass@host) are refused: use WithBasicAuth.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil {
			// The parse error quotes the input, which might hold a password: don't wrap it.
			return errors.New("voxbone: invalid base URL")
		}
		if u.User != nil {
			return fmt.Errorf("voxbone: base URL %s must not carry credentials; use WithBasicAuth", u.Redacted())
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			// Not %q of raw: "user:pass@host/x" parses with scheme "user" and no userinfo,
			// so the raw value may hold a password.
			return errors.New("voxbone: base URL must be an absolute http(s) URL")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("voxbone: base URL %s must not have a query or fragment", u.Redacted())
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			if u.RawPath != "" {
				u.RawPath += "/"
			}
		}
		c.base = u
		return nil
	}
}

// WithBasicAuth sets the API username and password (production and sandbox).
func WithBasicAuth(username, password string) Option {
	return func(c *Client) error {
		c.username, c.password = username, password
		return nil
	}
}

// WithAPIKey sets the key sent in the apikey header (key-based auth of beta).
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		c.apiKey = key
		return nil
	}
}

// WithHTTPClient sets the HTTP client. The client is copied and redirects are disabled on
// the copy, because Voxbone never redirects and following one could hand the apikey header
// to another host. A transport that skips TLS verification is refused.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("voxbone: nil HTTP client")
		}
		if tr, ok := hc.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil &&
			tr.TLSClientConfig.InsecureSkipVerify {
			return errors.New("voxbone: HTTP client skips TLS verification; refusing it")
		}
		cp := *hc
		cp.CheckRedirect = noRedirects
		c.httpClient = &cp
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithPageSize sets the page size of list calls (1..5000, default 20) for options that
// leave PageSize zero.
func WithPageSize(n int) Option {
	return func(c *Client) error {
		if n < 1 || n > MaxPageSize {
			return fmt.Errorf("voxbone: page size %d out of range 1..%d", n, MaxPageSize)
		}
		c.pageSize = n
		return nil
	}
}

// WithPageWorkers lets ListAllDIDGroups fetch up to n pages at once (default 1: one after
// the other), as many as the first page's resultCount announces. Every page still goes
// through the limiter, and a wrong count drops nothing (see collectPages).
func WithPageWorkers(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("voxbone: page workers %d must be at least 1", n)
		}
		c.pageWorkers = n
		return nil
	}
}

// WithLimiter sends every attempt, retries included, through l. If l is also a
// ratelimit.Reserver, each attempt reserves a slot and commits it when its connection is
// ready and the request is about to be written, or cancels it if the request is never
// sent, so that the limit holds for send times even when dialing delays some requests.
func WithLimiter(l ratelimit.Limiter) Option {
	return func(c *Client) error {
		c.limiter = l
		return nil
	}
}

// WithRetryPolicy replaces the retry policy (see DefaultRetryPolicy).
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxRetries < 0 || p.WaitMin < 0 || p.WaitMax < p.WaitMin {
			return fmt.Errorf("voxbone: invalid retry policy %+v", p)
		}
		c.retry = p
		return nil
	}
}

// WithLogger sets the logger. Requests are logged at debug level and retries at warn
// level, by endpoint and status; headers, bodies and credentials are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("voxbone: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRequestTimeout bounds each HTTP attempt (default 15 s). The caller's context still
// bounds the whole call, retries included.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("voxbone: request timeout %v must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithObserver calls fn after every HTTP attempt with the endpoint template (e.g.
// "GET ordering/cart/{cartIdentifier}/checkout"), the HTTP status (0 when no response
// arrived) and the attempt's duration. It is meant for metrics and must not block.
func WithObserver(fn func(endpoint string, status int, dur time.Duration)) Option {
	return func(c *Client) error {
		c.observer = fn
		return nil
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// New returns a client for the sandbox unless options say otherwise.
func New(opts ...Option) (*Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	// The default of 2 idle connections per host makes most of a burst of concurrent calls
	// dial anew, and dialing adds a variable delay between the limiter's grant and the
	// request's arrival; keeping a connection per concurrent caller keeps that delay small.
	tr.MaxIdleConnsPerHost = 64
	c := &Client{
		httpClient:  &http.Client{Transport: tr, CheckRedirect: noRedirects},
		userAgent:   DefaultUserAgent,
		pageSize:    DefaultPageSize,
		pageWorkers: 1,
		retry:       DefaultRetryPolicy(),
		logger:      slog.New(slog.DiscardHandler),
		timeout:     DefaultRequestTimeout,
		sleep:       sleepCtx,
	}
	if err := WithBaseURL(SandboxURL)(c); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	for _, s := range []string{c.password, c.apiKey} {
		if s != "" {
			c.secrets = append(c.secrets, s)
		}
	}
	if c.username != "" || c.password != "" {
		c.secrets = append(c.secrets, base64.StdEncoding.EncodeToString([]byte(c.username+":"+c.password)))
	}
	return c, nil
}

// BaseURL returns the base URL requests are resolved against (always ending in "/").
func (c *Client) BaseURL() string { return c.base.String() }

// request is one API call: what to send, how to name it, and whether repeating it is safe.
type request struct {
	method   string
	segments []string   // path below the base, unescaped, e.g. {"inventory", "country", "USA"}
	endpoint string     // template for logs and metrics, e.g. "GET inventory/country/{countryCodeA3}"
	query    url.Values // encoded exactly once, by url.Values.Encode
	body     any        // JSON-encoded when non-nil
	retry    bool       // safe to repeat: the caller vouches the call has no side effects
}

// do sends r, retrying when allowed, and decodes a 2xx JSON body into out (if non-nil).
func (c *Client) do(ctx context.Context, r *request, out any) error {
	u := c.base.JoinPath(r.segments...)
	u.RawQuery = r.query.Encode()
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	for attempt := 0; ; attempt++ {
		var slot ratelimit.Reservation
		if res, ok := c.limiter.(ratelimit.Reserver); ok {
			var err error
			if slot, err = res.Reserve(ctx); err != nil {
				return err
			}
		} else if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return err
			}
		}
		status, body, header, err := c.attempt(ctx, r, u, payload, attempt, slot)
		if err == nil && status >= 200 && status < 300 {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("decode %s response: %w", r.endpoint, err)
			}
			return nil
		}
		if err == nil {
			err = c.newError(status, header, body)
		}
		if ctx.Err() != nil {
			return err
		}
		if !r.retry || attempt >= c.retry.MaxRetries || !retryable(status, err) {
			return err
		}
		wait, ok := c.retry.wait(attempt, header, time.Now())
		if !ok {
			return err // Retry-After asks for longer than we are willing to wait
		}
		if dl, has := ctx.Deadline(); has && time.Now().Add(wait).After(dl) {
			return err // sleeping would run past the caller's deadline
		}
		c.logger.WarnContext(ctx, "voxbone: retrying", "endpoint", r.endpoint, "status", status,
			"attempt", attempt+1, "wait", wait, "error", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// attempt sends one HTTP request and reads the (bounded) body. A non-nil slot is
// committed when the request's connection is ready, or cancelled if the request never got
// one (see sendTrace).
func (c *Client) attempt(ctx context.Context, r *request, u *url.URL, payload []byte, n int,
	slot ratelimit.Reservation) (int, []byte, http.Header, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if slot != nil {
		trace, unsent := sendTrace(slot)
		defer unsent()
		actx = httptrace.WithClientTrace(actx, trace)
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u.String(), rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if !r.retry && payload == nil {
		// net/http silently resends a body-less GET when a reused connection dies before the
		// answer (Request.isReplayable). For checkout that would buy twice. A non-nil body
		// without GetBody makes the request non-replayable; being empty, it is not sent.
		req.Body = io.NopCloser(emptyReader{})
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.username != "" || c.password != "" {
		req.SetBasicAuth(c.username, c.password)
	}
	if c.apiKey != "" {
		req.Header.Set("apikey", c.apiKey)
	}

	start := time.Now()
	resp, err := c.httpClient.Do(req)
	status := 0
	var body []byte
	if err == nil {
		status = resp.StatusCode
		body, err = io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
		resp.Body.Close()
		if err == nil && len(body) > MaxResponseBytes {
			err = fmt.Errorf("response body exceeds %d bytes", MaxResponseBytes)
			status = 0
		}
	}
	dur := time.Since(start)
	if c.observer != nil {
		c.observer(r.endpoint, status, dur)
	}
	c.logger.DebugContext(ctx, "voxbone: request", "endpoint", r.endpoint, "status", status,
		"attempt", n, "duration", dur, "error", err)
	if err != nil {
		return status, nil, nil, err
	}
	return status, body, resp.Header, nil
}

// sendTrace returns a trace that commits slot when net/http has a connection for the
// request, and a func that cancels slot unless that happened. GotConn fires, for HTTP/1.1
// and HTTP/2 alike, once a connection is dialed (TLS handshake included) or taken from the
// pool, right before the request is written: that, not the grant, is when the request
// leaves, and a cold connection can take longer to dial than the limiter's margin. An
// attempt that fails before GotConn (dial error, timeout, cancelled context) sent
// nothing, so its slot is given back. A second GotConn (net/http resending a replayable
// request on a fresh connection) moves the slot to the later send.
func sendTrace(slot ratelimit.Reservation) (*httptrace.ClientTrace, func()) {
	var (
		mu   sync.Mutex
		sent bool
	)
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
		mu.Lock()
		defer mu.Unlock()
		sent = true
		slot.Commit(time.Now())
	}}
	unsent := func() {
		mu.Lock()
		defer mu.Unlock()
		if !sent {
			slot.Cancel()
		}
	}
	return trace, unsent
}

// emptyReader is an empty body that net/http cannot rewind (see attempt).
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
