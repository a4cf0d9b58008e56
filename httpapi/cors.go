package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CORS: which web pages, served from other origins, may call the API from a browser.
const (
	// corsAllowHeaders are the request headers such a page may send: the token, JSON
	// bodies, knm's request id and idempotency key, and Monster UI's cluster id.
	corsAllowHeaders = "X-Auth-Token, Content-Type, X-Request-Id, Idempotency-Key, X-Kazoo-Cluster-Id"
	// corsExposeHeaders are the reply headers its script may read besides the simple ones.
	corsExposeHeaders = "X-Request-Id, Retry-After"
	// corsMaxAge is how long, in seconds, a browser may reuse a preflight answer.
	corsMaxAge = "3600"
)

// corsMethods are the methods a path may offer, in the order preflights list them.
var corsMethods = []string{"GET", "PUT", "POST", "PATCH", "DELETE"}

// SplitOrigins splits a KNM_CORS_ORIGINS value (origins separated by commas or spaces)
// into the list Options.CORSOrigins takes.
func SplitOrigins(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// corsPolicy is the parsed origin list.
type corsPolicy struct {
	origins   map[string]bool // exact origins, allowed on every route
	anyPublic bool            // "*": any origin, on the routes that need no token
	public    map[string]bool // mux patterns ("GET /v2/phone_numbers") that need no token
}

// normalOrigin returns an origin as browsers send it: lower-case scheme and host, no
// default port, no path. It refuses anything else.
func normalOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(s), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("httpapi: CORS origin %q must be scheme://host[:port] with http or https, or *", s)
	}
	scheme, host, port := u.Scheme, strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") { // an IPv6 address
		host = "[" + host + "]"
	}
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host, nil
	}
	return scheme + "://" + host + ":" + port, nil
}

// corsHandler answers OPTIONS (preflights included) and adds Access-Control-* headers to
// the replies of next for the allowed origins. With no origins every preflight is
// refused, so browsers keep other origins out.
func (s *Server) corsHandler(origins []string, next http.Handler) (http.Handler, error) {
	p := &corsPolicy{origins: map[string]bool{}, public: map[string]bool{}}
	for _, o := range origins {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if o == "*" {
			p.anyPublic = true
			continue
		}
		n, err := normalOrigin(o)
		if err != nil {
			return nil, err
		}
		p.origins[n] = true
	}
	for _, rt := range s.routes() {
		if rt.Auth != authRequired {
			p.public[rt.Method+" "+rt.Path] = true
		}
	}
	configured := p.anyPublic || len(p.origins) > 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if configured {
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			s.options(w, r, p)
			return
		}
		if allow := s.corsAllow(p, r, r.Method); allow != "" {
			w.Header().Set("Access-Control-Allow-Origin", allow)
			w.Header().Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
		next.ServeHTTP(w, r)
	}), nil
}

// options answers OPTIONS: the methods of the path (204), and for a browser's preflight
// whether its origin may send the request it announces (403 when not).
func (s *Server) options(w http.ResponseWriter, r *http.Request, p *corsPolicy) {
	var methods []string
	for _, m := range corsMethods {
		if s.routePattern(r, m) != "" {
			methods = append(methods, m)
		}
	}
	if len(methods) == 0 {
		s.writeError(w, r, &statusError{status: http.StatusNotFound, name: "not_found", msg: "no such route: " + r.URL.Path})
		return
	}
	origin, want := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	if origin == "" || want == "" {
		w.Header().Set("Allow", strings.Join(append(methods, http.MethodOptions), ", "))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	allow := s.corsAllow(p, r, want)
	if allow == "" {
		msg := "origin " + origin + " may not call this API from a browser"
		if p.anyPublic {
			msg = "origin " + origin + " may only call the routes that need no token"
		}
		msg += "; add it to KNM_CORS_ORIGINS (--cors-origins)"
		s.writeError(w, r, &statusError{status: http.StatusForbidden, name: "forbidden", msg: msg})
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allow)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// corsAllow returns the Access-Control-Allow-Origin value for a request (or the request a
// preflight announces) with the given method: the origin itself when listed, "*" when any
// origin may call a route that needs no token, else "" (not allowed, or not a CORS
// request).
func (s *Server) corsAllow(p *corsPolicy, r *http.Request, method string) string {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	if n, err := normalOrigin(origin); err == nil && p.origins[n] {
		return origin
	}
	if p.anyPublic && p.public[s.routePattern(r, method)] {
		return "*"
	}
	return ""
}

// routePattern returns the mux pattern that serves method on r's path, "" for none.
func (s *Server) routePattern(r *http.Request, method string) string {
	probe := r.WithContext(r.Context())
	probe.Method = method
	return s.muxPattern(probe)
}
