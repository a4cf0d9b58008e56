package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/manager"
)

// searchParams reads crossbar's find_numbers query (kazoo-knm §2.2) by the rules every
// entry point shares (manager.ParseSearch).
func searchParams(q url.Values) (manager.SearchRequest, error) {
	return manager.ParseSearch(manager.SearchInput{Prefix: q.Get("prefix"), Country: q.Get("country"),
		Quantity: q.Get("quantity"), Offset: q.Get("offset")})
}

// searchGlobal is GET /v2/phone_numbers: a search that needs no token, as in Kazoo. With a
// token it searches as the caller; without, it uses the system carriers, hashes an empty
// token into the query id and sets NoPurchase, so no carrier spends money (knm_voxbone
// buying DIDs to offer them) for a caller nobody can bill: anyone who can reach the API
// could otherwise drain the carrier balance.
func (s *Server) searchGlobal(w http.ResponseWriter, r *http.Request) error {
	req, err := searchParams(r.URL.Query())
	if err != nil {
		return err
	}
	if a := authOf(r); a != nil {
		req.AccountID, req.ResellerID, req.AuthToken = a.account.ID, manager.ResellerOf(a.account), a.token
	} else {
		req.NoPurchase = true
	}
	if q := r.URL.Query(); q.Has("reseller_id") {
		reseller, err := s.lookupReseller(r, q.Get("reseller_id"))
		if err != nil {
			return err
		}
		req.AccountID, req.ResellerID = reseller, reseller
	}
	if q := r.URL.Query(); q.Has("blocks") {
		return s.searchBlocks(w, r, req, q)
	}
	return s.search(w, r, req)
}

// search answers a search. A buying search may carry an Idempotency-Key: a retry with it
// never buys again. When a carrier refused to buy because its rate budget could not carry
// the order in time, the reply says when to come back (Retry-After): 200 with the numbers
// knm had already, or 429 when there are none.
func (s *Server) search(w http.ResponseWriter, r *http.Request, req manager.SearchRequest) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	if key != "" && req.AccountID != "" {
		req.IdempotencyKey = caller(r).ID + ":" + key // per caller, as a native order's
	}
	res, err := s.mgr.Search(r.Context(), req)
	if err != nil {
		return err
	}
	type report struct {
		Module     string `json:"module"`
		Status     string `json:"status"`
		Error      string `json:"error,omitempty"`
		Count      int    `json:"count"`
		Order      string `json:"order,omitempty"`
		RetryAfter int    `json:"retry_after_s,omitempty"`
		Note       string `json:"note,omitempty"`
	}
	reports := make([]report, 0, len(res.Carriers))
	var retry time.Duration
	for _, c := range res.Carriers {
		s.metrics.ObserveCarrierSearch(c.Module, c.Status, c.Duration)
		after := int(math.Ceil(c.RetryAfter.Seconds()))
		reports = append(reports, report{c.Module, c.Status, c.Error, c.Count, c.Order, after, c.Note})
		retry = max(retry, c.RetryAfter)
	}
	numbers := res.Numbers
	if numbers == nil {
		numbers = []manager.NumberState{}
	}
	e, status := s.baseEnvelope(r, "success"), http.StatusOK
	e.Data = numbers
	if res.Carriers != nil {
		e.Carriers = reports
	}
	if retry > 0 {
		after := int(math.Ceil(retry.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(after))
		if len(numbers) == 0 {
			status = http.StatusTooManyRequests
			e.Status, e.Error, e.Message = "error", strconv.Itoa(status), string(knm.ErrTooManyRequests)
			e.Data = knmErrorObject{Code: status, Error: string(knm.ErrTooManyRequests), Message: fmt.Sprintf(
				"no number is available now and buying was refused: the carrier rate budget cannot carry it before "+
					"the search deadline; retry after %d s (see carriers)", after)}
		}
	}
	writeJSON(w, status, e)
	return nil
}

// idempotencyKey returns the request's Idempotency-Key header, checked.
func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 200 {
		return "", knm.Errorf(knm.ErrInvalid, "Idempotency-Key must be at most 200 characters").
			WithCause("Idempotency-Key")
	}
	return key, nil
}
