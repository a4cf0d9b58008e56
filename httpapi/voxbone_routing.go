package httpapi

import (
	"context"
	"net/http"

	"github.com/knmproject/knm"
)

// VoxboneRouter is implemented by a Voxbone that can apply its routing settings (voice URI
// and per-DID options) to DIDs knm already holds.
type VoxboneRouter interface {
	// Route configures the DIDs of the numbers (all knm_voxbone numbers with All) as the
	// settings ask; DryRun only reports what differs. The result is passed through as JSON.
	Route(ctx context.Context, req RouteRequest) (any, error)
}

// RouteRequest is POST /v2/voxbone/routing.
type RouteRequest struct {
	Numbers []string `json:"numbers"`
	All     bool     `json:"all"`
	DryRun  bool     `json:"dry_run"`
}

// maxRouteNumbers bounds the numbers one routing request names; --all covers the rest.
const maxRouteNumbers = 1000

// voxboneRouting is POST /v2/voxbone/routing: master only, as it changes DIDs of every
// account.
func (s *Server) voxboneRouting(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.voxboneCaller(r, true); err != nil {
		return err
	}
	var req RouteRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	switch {
	case req.All == (len(req.Numbers) > 0):
		return knm.Errorf(knm.ErrInvalid, "give either numbers or all").WithCause("numbers")
	case len(req.Numbers) > maxRouteNumbers:
		return knm.Errorf(knm.ErrInvalid, "at most %d numbers per request; use all", maxRouteNumbers).
			WithCause("numbers")
	}
	for i, n := range req.Numbers {
		num, err := checkNumberInput(n, "numbers")
		if err != nil {
			return err
		}
		req.Numbers[i] = s.e164(r.Context(), num)
	}
	router, ok := s.voxbone.(VoxboneRouter)
	if !ok {
		return errNoVoxbone()
	}
	res, err := router.Route(r.Context(), req)
	if err != nil {
		return err
	}
	s.writeData(w, r, http.StatusOK, res)
	return nil
}
