package knmvoxbone

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/url"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/voxbone"
)

// AccountFingerprint names the Voxbone account the settings talk to without revealing a
// secret: a short hash of the effective base URL (normalised), the username and a SHA-256 of
// any API key. Journal rows record it, so that a carrier built for another account (the
// settings were switched while an order was unfinished) leaves them alone.
func (s Settings) AccountFingerprint() string {
	s = s.withDefaults()
	id := "knm_voxbone/2\x00" + normalBaseURL(s.effectiveBaseURL())
	if s.Username != "" {
		id += "\x00user:" + s.Username
	}
	if s.APIKey != "" {
		key := sha256.Sum256([]byte(s.APIKey))
		id += "\x00api_key:" + hex.EncodeToString(key[:])
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:6])
}

// effectiveBaseURL is the base URL requests go to: base_url when set, else the
// environment's.
func (s Settings) effectiveBaseURL() string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	switch s.Environment {
	case EnvProduction:
		return voxbone.ProductionURL
	case EnvBeta:
		return voxbone.BetaURL
	default:
		return voxbone.SandboxURL
	}
}

// normalBaseURL spells equivalent base URLs alike: scheme and host lower-cased, the scheme's
// default port and a trailing "/" dropped. A URL that does not parse is only trimmed.
func normalBaseURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(raw, "/")
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port != "" || strings.Contains(host, ":") {
		host = net.JoinHostPort(host, port)
		host = strings.TrimSuffix(host, ":") // an IPv6 host without a port: [::1]
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// checkAccount refuses to settle an order placed on another Voxbone account than the
// carrier's: there its cart, orders and DIDs are invisible, so a lookup finding nothing
// would fail an order that bought numbers.
func (c *Carrier) checkAccount(o *order) error {
	if o.Account == c.account {
		return nil
	}
	return knm.Errorf(knm.ErrConflict, "voxbone order %s was placed on another Voxbone account "+
		"(fingerprint %s, this one is %s); switch back to settle it", o.OrderID, o.Account, c.account)
}
