package manager

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/knmproject/knm"
	"github.com/knmproject/knm/features"
)

// ownedStates are the states in which a number must have an owner; in every other stored
// state it must have none.
var ownedStates = []knm.State{knm.StateInService, knm.StateReserved, knm.StatePortIn, knm.StatePortOut}

// FixReport is what the consistency check of one number found: what it repaired and what
// it could not (Kazoo's POST …/fix re-syncs account copies; knm has one store, so it
// checks instead that a number's fields agree with each other and with its settings).
type FixReport struct {
	Fixed    []string `json:"fixed"`
	Problems []string `json:"problems"`
}

// Clean reports whether the check found nothing.
func (r FixReport) Clean() bool { return len(r.Fixed) == 0 && len(r.Problems) == 0 }

// Fix checks one number (POST …/fix/{N}) and repairs what it can: the owner against the
// state and the reserve history, the "local" feature against the module, and pvt_features
// against the public fields and the feature settings (features the settings no longer
// allow are removed, so the number can be written again). It reports what it cannot
// repair: an owned number without owner or history, an owner account that does not exist,
// a missing or unloaded carrier module, a carrier-bought number without carrier data, a
// stored discovery number. auth needs is_authorized. It returns the number as stored
// afterwards.
func (m *Manager) Fix(ctx context.Context, auth, number string) (*knm.Number, FixReport, error) {
	num, err := m.CheckNumber(number)
	if err != nil {
		return nil, FixReport{}, err
	}
	for range maxWriteAttempts {
		cur, err := m.store.GetNumber(ctx, num)
		if err != nil {
			return nil, FixReport{}, err
		}
		a := m.authz(ctx, auth)
		if err := require(a.isAuthorized(cur, "")); err != nil {
			return nil, FixReport{}, err
		}
		n, rep, err := m.diagnose(ctx, a, cur)
		if err != nil {
			return nil, FixReport{}, err
		}
		if len(rep.Fixed) == 0 {
			return cur, rep, nil
		}
		if err := m.store.UpdateNumber(ctx, n); !retryable(err) {
			if err != nil {
				return nil, FixReport{}, err
			}
			return n, rep, nil
		}
	}
	return nil, FixReport{}, knm.Conflict("number " + num)
}

// FixAccount runs Fix on every number assigned to accountID (POST …/fix) and returns the
// reports of the numbers where it found something, by number, and how many it checked.
// auth must be an admin or accountID or one of its ancestors.
func (m *Manager) FixAccount(ctx context.Context, auth, accountID string) (map[string]FixReport, int, error) {
	if err := m.authz(ctx, auth).mayList(auth, accountID); err != nil {
		return nil, 0, err
	}
	out := map[string]FixReport{}
	checked := 0
	f := knm.NumberFilter{AssignedTo: &accountID, Limit: 500}
	for {
		ns, err := m.store.FindNumbers(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		for _, n := range ns {
			_, rep, err := m.Fix(ctx, auth, n.Number)
			if isNotFound(err) {
				continue // released meanwhile
			}
			if err != nil {
				return nil, 0, err
			}
			checked++
			if !rep.Clean() {
				out[n.Number] = rep
			}
		}
		if len(ns) < f.Limit {
			return out, checked, nil
		}
		f.After = ns[len(ns)-1].Number
	}
}

// diagnose returns cur repaired, and what was repaired and what was not.
func (m *Manager) diagnose(ctx context.Context, a *authz, cur *knm.Number) (*knm.Number, FixReport, error) {
	n := cur.Clone()
	rep := FixReport{Fixed: []string{}, Problems: []string{}}
	fixOwner(n, &rep)
	if n.AssignedTo != "" {
		acc, err := a.account(n.AssignedTo)
		if err != nil {
			return nil, rep, err
		}
		if acc == nil {
			rep.Problems = append(rep.Problems, "owner account "+n.AssignedTo+" does not exist")
		}
	}
	m.checkCarrier(n, &rep)
	if n.State == knm.StateDiscovery {
		rep.Problems = append(rep.Problems, "a discovery number is stored; searches keep these in their cache only")
	}
	if err := m.fixFeatures(ctx, a, n, &rep); err != nil {
		return nil, rep, err
	}
	return n, rep, nil
}

// fixOwner makes the owner agree with the state and the reserve history.
func fixOwner(n *knm.Number, rep *FixReport) {
	owned := slices.Contains(ownedStates, n.State)
	switch {
	case owned && n.AssignedTo == "" && len(n.ReserveHistory) > 0:
		n.AssignedTo = n.ReserveHistory[0]
		rep.Fixed = append(rep.Fixed, "assigned_to restored from pvt_reserve_history: "+n.AssignedTo)
	case owned && n.AssignedTo == "":
		rep.Problems = append(rep.Problems, string(n.State)+" without an owner, and no reserve history to restore it")
	case !owned && n.AssignedTo != "":
		rep.Fixed = append(rep.Fixed, "owner "+n.AssignedTo+" removed: "+string(n.State)+" numbers have none")
		setAssignedTo(n, "")
	}
	switch {
	case n.State == knm.StateReserved && n.AssignedTo != "" &&
		(len(n.ReserveHistory) == 0 || n.ReserveHistory[0] != n.AssignedTo):
		pushReserveHistory(n, n.AssignedTo)
		rep.Fixed = append(rep.Fixed, "pvt_reserve_history now starts with the owner")
	case !owned && len(n.ReserveHistory) > 0:
		n.ReserveHistory = nil
		rep.Fixed = append(rep.Fixed, "pvt_reserve_history cleared: the number has no owner")
	}
}

// checkCarrier reports a number whose carrier module is unset or not loaded, or bought
// from a carrier that takes numbers back (knm_voxbone, whose DID object is the number's
// carrier data) without that data, and repairs the "local" feature.
func (m *Manager) checkCarrier(n *knm.Number, rep *FixReport) {
	_, hadLocal := n.Features[features.Local]
	n.SetModule(n.ModuleName)
	if _, hasLocal := n.Features[features.Local]; hadLocal != hasLocal {
		rep.Fixed = append(rep.Fixed, "the local feature now follows the module "+n.ModuleName)
	}
	if n.ModuleName == "" {
		rep.Problems = append(rep.Problems, "no carrier module (pvt_module_name)")
		return
	}
	c := m.carrier(n.ModuleName)
	switch {
	case c == nil:
		rep.Problems = append(rep.Problems, "carrier module "+n.ModuleName+" is not loaded")
	case knm.ReturnsNumberOnDisconnect(c) && len(n.CarrierData) == 0:
		rep.Problems = append(rep.Problems, "no carrier data (pvt_carrier_data) from "+n.ModuleName+
			", which keeps its own record of every number it sold")
	}
}

// fixFeatures removes the features the settings no longer allow and recomputes the rest.
func (m *Manager) fixFeatures(ctx context.Context, a *authz, n *knm.Number, rep *FixReport) error {
	s, err := m.featureSettings(ctx, a, n)
	if err != nil {
		return err
	}
	before, _ := json.Marshal(n.Features)
	beforePublic, _ := json.Marshal(n.Public)
	work := n.Clone()
	features.RemoveDenied(work, s)
	if err := features.Apply(work, s); err != nil {
		rep.Problems = append(rep.Problems, "features: "+err.Error())
		return nil
	}
	after, _ := json.Marshal(work.Features)
	afterPublic, _ := json.Marshal(work.Public)
	if string(before) != string(after) || string(beforePublic) != string(afterPublic) {
		rep.Fixed = append(rep.Fixed, "pvt_features recomputed: ["+strings.Join(work.FeatureNames(), ", ")+"]")
	}
	*n = *work
	return nil
}
