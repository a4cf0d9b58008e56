package voxbone_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knmproject/knm/voxbone"
)

func TestErrorDecoding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   voxbone.Error
		code   voxbone.Code
	}{{
		name: "string code", status: 400,
		body: `{"httpStatusCode":400,"apiModule":"ORDERING","genericErrorMessage":"Bad request","errors":[{"apiErrorCode":"403","apiErrorMessage":"The system could not find the requested didgroup."}]}`,
		want: voxbone.Error{HTTPStatus: 400, Module: "ORDERING", Message: "Bad request",
			Codes: []voxbone.APIError{{Code: "403", Message: "The system could not find the requested didgroup."}}},
		code: 403,
	}, {
		name: "number code", status: 400,
		body: `{"httpStatusCode":"400","errors":[{"apiErrorCode":414,"apiErrorMessage":"not owned"},{"apiErrorCode":"415","apiErrorMessage":"x"}]}`,
		want: voxbone.Error{HTTPStatus: 400, Codes: []voxbone.APIError{{Code: "414", Message: "not owned"}, {Code: "415", Message: "x"}}},
		code: 415,
	}, {
		name: "html body", status: 502,
		body: "<html>\n<head><title>502 Bad Gateway</title></head>\r\n<body>\x00nginx</body></html>",
		want: voxbone.Error{HTTPStatus: 502, Body: "<html> <head><title>502 Bad Gateway</title></head> <body> nginx</body></html>"},
	}, {
		name: "empty body", status: 401,
		want: voxbone.Error{HTTPStatus: 401},
	}, {
		name: "long body", status: 500,
		body: strings.Repeat("é", 1000),
		want: voxbone.Error{HTTPStatus: 500, Body: strings.Repeat("é", 128) + "…"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t, voxbone.WithRetryPolicy(voxbone.RetryPolicy{}))
			mux.HandleFunc("POST /ordering/cart/{id}/product", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			err := c.AddDIDsToCart(t.Context(), 123, 99, 1)
			var e *voxbone.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *voxbone.Error", err)
			}
			if !reflect.DeepEqual(*e, tc.want) {
				t.Errorf("error = %#v\nwant %#v", *e, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "voxbone: add to cart 123: HTTP ") {
				t.Errorf("message = %q", err)
			}
			if tc.code != 0 && !voxbone.HasCode(err, tc.code) {
				t.Errorf("HasCode(%d) = false", tc.code)
			}
			if voxbone.HasCode(err, 999) {
				t.Error("HasCode(999) = true")
			}
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err                         error
		rateLimited, notFound, auth bool
	}{
		{&voxbone.Error{HTTPStatus: 429}, true, false, false},
		{&voxbone.Error{HTTPStatus: 509}, true, false, false},
		{&voxbone.Error{HTTPStatus: 404}, false, true, false},
		{&voxbone.Error{HTTPStatus: 400, Codes: []voxbone.APIError{{Code: "15"}}}, false, true, false},
		{&voxbone.Error{HTTPStatus: 401}, false, false, true},
		{voxbone.ErrNotFound, false, true, false},
		{errors.New("other"), false, false, false},
	} {
		wrapped := errors.Join(errors.New("ctx"), tc.err)
		if voxbone.IsRateLimited(wrapped) != tc.rateLimited || voxbone.IsNotFound(wrapped) != tc.notFound || voxbone.IsAuthentication(wrapped) != tc.auth {
			t.Errorf("%v: helpers disagree", tc.err)
		}
	}
	if d, ok := voxbone.RetryAfter(&voxbone.Error{HTTPStatus: 429, RetryAfter: 3 * time.Second}); !ok || d != 3*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := voxbone.RetryAfter(errors.New("x")); ok {
		t.Error("RetryAfter on a plain error")
	}
}

// drop closes the connection without answering, as a crashed server or a proxy would.
func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestRetriesSafeRequests(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 500, 502, 503, 504, 509, 0} {
		c, mux := setup(t)
		var n atomic.Int32
		mux.HandleFunc("GET /inventory/didgroup", counting(&n, func(w http.ResponseWriter, r *http.Request) {
			if n.Load() < 3 {
				if status == 0 {
					drop(w, r)
					return
				}
				w.WriteHeader(status)
				return
			}
			serveJSON(w, `{"didGroups":[{"didGroupId":1}],"resultCount":1}`)
		}))
		groups, _, err := c.ListDIDGroups(t.Context(), voxbone.ListDIDGroupsOptions{CountryCodeA3: "USA"})
		if err != nil || len(groups) != 1 || n.Load() != 3 {
			t.Errorf("status %d: %d requests, %v", status, n.Load(), err)
		}
	}
}

func TestDeleteCartIsRetried(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var n atomic.Int32
	mux.HandleFunc("DELETE /ordering/cart/{id}", counting(&n, func(w http.ResponseWriter, r *http.Request) {
		if n.Load() == 1 {
			drop(w, r)
			return
		}
		serveJSON(w, `{"status":"SUCCESS"}`)
	}))
	if err := c.DeleteCart(t.Context(), 5); err != nil || n.Load() != 2 {
		t.Fatalf("DeleteCart: %d requests, %v", n.Load(), err)
	}
}

func TestNoRetryOnClientErrorsAnd501(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 405, 501} {
		c, mux := setup(t)
		var n atomic.Int32
		mux.HandleFunc("GET /inventory/feature", counting(&n, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
		_, err := c.ListFeatures(t.Context())
		if err == nil || n.Load() != 1 {
			t.Errorf("status %d: %d requests, %v", status, n.Load(), err)
		}
	}
}

// TestUnsafeRequestsSentOnce proves that calls with side effects are never repeated, under
// a 500 and under a dropped connection.
func TestUnsafeRequestsSentOnce(t *testing.T) {
	t.Parallel()
	calls := map[string]func(c *voxbone.Client, ctx context.Context) error{
		"PUT /ordering/cart": func(c *voxbone.Client, ctx context.Context) error {
			_, err := c.CreateCart(ctx, voxbone.CreateCartRequest{})
			return err
		},
		"POST /ordering/cart/1/product": func(c *voxbone.Client, ctx context.Context) error { return c.AddDIDsToCart(ctx, 1, 2, 3) },
		"POST /ordering/cart/1/product/2": func(c *voxbone.Client, ctx context.Context) error {
			return c.RemoveFromCart(ctx, 1, 2, 3)
		},
		"GET /ordering/cart/1/checkout": func(c *voxbone.Client, ctx context.Context) error { _, err := c.Checkout(ctx, 1); return err },
		"POST /ordering/cancel":         func(c *voxbone.Client, ctx context.Context) error { _, err := c.CancelDIDs(ctx, []int{1}); return err },
		"PUT /configuration/voiceuri": func(c *voxbone.Client, ctx context.Context) error {
			_, err := c.SaveVoiceURI(ctx, voxbone.VoiceURI{VoiceURIProtocol: "SIP", URI: "sip:a@b"})
			return err
		},
		"POST /configuration/configuration": func(c *voxbone.Client, ctx context.Context) error {
			_, err := c.ConfigureDIDs(ctx, voxbone.DIDConfiguration{DIDIDs: []int{1}})
			return err
		},
	}
	for pattern, call := range calls {
		for _, mode := range []string{"500", "drop", "429"} {
			t.Run(pattern+"/"+mode, func(t *testing.T) {
				t.Parallel()
				c, mux := setup(t)
				// A first call leaves an idle connection, so that the call under test runs on a
				// reused one: that is when net/http itself would resend a replayable request.
				mux.HandleFunc("GET /inventory/zone", func(w http.ResponseWriter, r *http.Request) { serveJSON(w, `{"zone":[]}`) })
				if _, err := c.ListZones(t.Context()); err != nil {
					t.Fatal(err)
				}
				var n atomic.Int32
				mux.HandleFunc(pattern, counting(&n, func(w http.ResponseWriter, r *http.Request) {
					switch mode {
					case "drop":
						drop(w, r)
					case "429":
						w.WriteHeader(429)
					default:
						w.WriteHeader(500)
					}
				}))
				if err := call(c, t.Context()); err == nil {
					t.Error("call succeeded")
				}
				if got := n.Load(); got != 1 {
					t.Errorf("sent %d times, want exactly 1", got)
				}
			})
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var times []time.Time
	var mu sync.Mutex
	mux.HandleFunc("GET /ordering/accountbalance", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		first := len(times) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		serveFixture(t, "voxbone_account_balance.json")(w, r)
	})
	if _, err := c.AccountBalance(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || times[1].Sub(times[0]) < 950*time.Millisecond {
		t.Fatalf("retry after %v, want >= 1s", times[1].Sub(times[0]))
	}
}

func TestRetryRespectsDeadline(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var n atomic.Int32
	mux.HandleFunc("GET /ordering/accountbalance", counting(&n, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(503)
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.AccountBalance(ctx)
	if el := time.Since(start); el > 300*time.Millisecond {
		t.Errorf("returned after %v: slept towards a wait that ends past the deadline", el)
	}
	if d, ok := voxbone.RetryAfter(err); !ok || d != 5*time.Second || n.Load() != 1 {
		t.Errorf("err = %v, RetryAfter = %v, requests = %d", err, d, n.Load())
	}

	// Backoff sleeps stop at cancellation too.
	slow, mux2 := setup(t, voxbone.WithRetryPolicy(voxbone.RetryPolicy{MaxRetries: 4, WaitMin: 2 * time.Second, WaitMax: 2 * time.Second}))
	mux2.HandleFunc("GET /inventory/zone", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	ctx2, cancel2 := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel2)
	start = time.Now()
	if _, err := slow.ListZones(ctx2); err == nil || time.Since(start) > time.Second {
		t.Errorf("cancelled backoff: %v after %v", err, time.Since(start))
	}
}

func TestRetryAfterTooLongIsNotWaited(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var n atomic.Int32
	mux.HandleFunc("GET /inventory/trunk", counting(&n, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(2*time.Hour).UTC().Format(http.TimeFormat))
		w.WriteHeader(429)
	}))
	_, err := c.ListTrunks(t.Context())
	if d, ok := voxbone.RetryAfter(err); !ok || d < time.Hour || n.Load() != 1 || !voxbone.IsRateLimited(err) {
		t.Errorf("err = %v, RetryAfter = %v, requests = %d", err, d, n.Load())
	}
}

// countingLimiter counts Wait calls.
type countingLimiter struct{ n atomic.Int32 }

func (l *countingLimiter) Wait(ctx context.Context) error { l.n.Add(1); return ctx.Err() }

func TestRetriesGoThroughLimiter(t *testing.T) {
	t.Parallel()
	lim := &countingLimiter{}
	c, mux := setup(t, voxbone.WithLimiter(lim))
	var n atomic.Int32
	mux.HandleFunc("GET /inventory/zone", counting(&n, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	if _, err := c.ListZones(t.Context()); err == nil {
		t.Fatal("ListZones succeeded")
	}
	if n.Load() != 5 || lim.n.Load() != 5 {
		t.Errorf("%d requests, %d limiter waits; want 5 and 5 (1 + 4 retries)", n.Load(), lim.n.Load())
	}
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, voxbone.WithRequestTimeout(50*time.Millisecond), voxbone.WithRetryPolicy(voxbone.RetryPolicy{MaxRetries: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}))
	var n atomic.Int32
	mux.HandleFunc("GET /inventory/zone", counting(&n, func(w http.ResponseWriter, r *http.Request) {
		if n.Load() == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			return
		}
		serveJSON(w, `{"zone":["A"]}`)
	}))
	if zs, err := c.ListZones(t.Context()); err != nil || len(zs) != 1 || n.Load() != 2 {
		t.Errorf("ListZones = %v, %v after %d requests", zs, err, n.Load())
	}
}

// TestCredentialsNeverLeak checks errors and logs of a failing request, a transport error
// and a retried request for the password, the API key and the Basic token.
func TestCredentialsNeverLeak(t *testing.T) {
	t.Parallel()
	token := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	secrets := []string{testPassword, testAPIKey, token}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	c, mux := setup(t, voxbone.WithAPIKey(testAPIKey), voxbone.WithLogger(logger))
	// A server (or proxy) that echoes the request headers in its error page.
	mux.HandleFunc("GET /inventory/did", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		w.Write([]byte("<pre>Authorization: " + r.Header.Get("Authorization") + "\napikey: " + r.Header.Get("apikey") + "</pre>"))
	})
	mux.HandleFunc("GET /inventory/zone", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		serveJSON(w, `{"genericErrorMessage":"bad password `+testPassword+`","errors":[{"apiErrorCode":"1","apiErrorMessage":"key `+testAPIKey+`"}]}`)
	})
	mux.HandleFunc("GET /inventory/trunk", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })

	var errs []error
	_, _, err := c.ListDIDs(t.Context(), voxbone.ListDIDsOptions{})
	if !voxbone.IsAuthentication(err) || !strings.Contains(err.Error(), "Basic [REDACTED]") {
		t.Errorf("err = %v, want authentication with the echoed token redacted", err)
	}
	errs = append(errs, err)
	_, err = c.ListZones(t.Context())
	errs = append(errs, err)
	_, err = c.ListTrunks(t.Context())
	errs = append(errs, err)

	// Transport error: *url.Error quotes the URL, which must not carry userinfo.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	dead, err := voxbone.New(voxbone.WithBaseURL("http://"+deadAddr+"/rest"), voxbone.WithBasicAuth(testUser, testPassword),
		voxbone.WithAPIKey(testAPIKey), voxbone.WithLogger(logger), voxbone.WithRetryPolicy(voxbone.RetryPolicy{MaxRetries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = dead.AccountBalance(t.Context())
	if err == nil {
		t.Fatal("request to a closed port succeeded")
	}
	errs = append(errs, err)

	for _, err := range errs {
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks a credential: %v", err)
			}
		}
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "voxbone: retrying") {
		t.Errorf("no retry was logged: %s", out)
	}
	for _, s := range append(secrets, "Authorization") {
		if strings.Contains(out, s) {
			t.Errorf("logs leak %q:\n%s", s, out)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestNoRedirects checks that a redirect is an error rather than a second request that
// could carry the apikey header to another host.
func TestNoRedirects(t *testing.T) {
	t.Parallel()
	var other atomic.Int32
	elsewhere := httptest.NewServer(counting(&other, func(w http.ResponseWriter, r *http.Request) {}))
	defer elsewhere.Close()
	c, mux := setup(t, voxbone.WithAPIKey(testAPIKey), voxbone.WithHTTPClient(&http.Client{}))
	mux.HandleFunc("GET /inventory/zone", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusFound)
	})
	_, err := c.ListZones(t.Context())
	var e *voxbone.Error
	if !errors.As(err, &e) || e.HTTPStatus != 302 || other.Load() != 0 {
		t.Errorf("err = %v, redirected requests = %d", err, other.Load())
	}
}
