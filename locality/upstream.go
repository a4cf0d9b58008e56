package locality

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Upstream asks a phonebook service speaking Kazoo's protocol, for operators who run one:
// POST {LocalityURL}/locality/metadata {"data":{"numbers":[…]}} and
// GET {CityURL}/{country}/city?pattern=…, each answering {"status":"success","data":…}.
type Upstream struct {
	LocalityURL string // Kazoo's number_manager.locality url (or number_manager.other phonebook_url)
	CityURL     string // Kazoo's crossbar.phone_numbers phonebook_url
	Client      *http.Client
}

var _ Source = Upstream{}

// upstreamTimeout bounds one phonebook request when Client has no timeout of its own.
const upstreamTimeout = 10 * time.Second

// maxUpstreamBody bounds a phonebook reply.
const maxUpstreamBody = 4 << 20

// Numbers calls POST {LocalityURL}/locality/metadata.
func (u Upstream) Numbers(ctx context.Context, numbers []string) (map[string]Number, error) {
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"numbers": numbers}})
	var out map[string]Number
	err := u.do(ctx, http.MethodPost, strings.TrimRight(u.LocalityURL, "/")+"/locality/metadata", body, &out)
	return out, err
}

// Cities calls GET {CityURL}/{country}/city?pattern=.
func (u Upstream) Cities(ctx context.Context, country, pattern string) (map[string]City, error) {
	target := strings.TrimRight(u.CityURL, "/") + "/" + url.PathEscape(strings.ToUpper(country)) +
		"/city?pattern=" + url.QueryEscape(pattern)
	var out map[string]City
	err := u.do(ctx, http.MethodGet, target, nil, &out)
	return out, err
}

// do sends one request and decodes the data of a success reply into v. Errors name the
// phonebook's host and status, never its reply body.
func (u Upstream) do(ctx context.Context, method, target string, body []byte, v any) error {
	client := u.Client
	if client == nil {
		client = &http.Client{Timeout: upstreamTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("locality: phonebook request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("locality: phonebook %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return fmt.Errorf("locality: phonebook %s: %w", req.URL.Host, err)
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(raw, &env) != nil || env.Status != "success" {
		return fmt.Errorf("locality: phonebook %s answered %d without success", req.URL.Host, resp.StatusCode)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return fmt.Errorf("locality: phonebook %s: unexpected data: %w", req.URL.Host, err)
	}
	return nil
}
