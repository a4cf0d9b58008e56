package emulator

import (
	"strconv"
	"strings"
	"time"
)

// didState is a DID with its emulator-only state.
type didState struct {
	DID
	cancelled    bool
	needsAddress bool // its group has a regulation requirement (needAddressLink filter)
}

// allocateDID creates one DID of group g for an order: a fresh, never reused e164 inside the
// group's numbering (country code + area code + subscriber digits) and the defaults of the
// recorded fixture voxbone_order_reference.json.
func (e *Emulator) allocateDID(g *DIDGroup, ref string, now time.Time) *didState {
	d := &didState{needsAddress: g.RegulationRequirement != nil, DID: DID{
		DIDID:                      e.seq.did,
		E164:                       e.newE164(g),
		Type:                       g.DIDType,
		CountryCodeA3:              g.CountryCodeA3,
		CityName:                   clonePtr(g.CityName),
		AreaCode:                   g.AreaCode,
		OrderReference:             ptr(ref),
		Channels:                   -1,
		Delivery:                   defaultDelivery,
		TrunkID:                    ptr(defaultTrunkID),
		DIDGroupID:                 g.DIDGroupID,
		CallerID:                   CallerID{CLIFormat: "E164", CLIValue: ""},
		CLIPrivacy:                 "DISABLED",
		OtherOptions:               defaultOtherOptions(),
		Ringback:                   "STANDARD",
		DNISEnabled:                "false",
		VoxoutNational:             "NOT_SUPPORTED",
		VoxoutInternationalEnabled: false,
		CancellationAvailable:      now.UTC().Format("02/01/2006"),
	}}
	e.seq.did++
	e.dids = append(e.dids, d)
	e.didByID[d.DIDID] = d
	return d
}

func defaultOtherOptions() OtherOptions {
	return OtherOptions{
		T38Enabled:     "false",
		DTMF:           "RFC2833",
		DTMFInbandMute: "false",
		Codecs:         []string{"G711A", "G711U", "G729"},
	}
}

func (e *Emulator) newE164(g *DIDGroup) string {
	phone := "999" // a group added for a country outside the catalogue
	if c, err := e.country(g.CountryCodeA3); err == nil {
		phone = strconv.Itoa(c.PhoneCode)
	}
	national := nationalLength[g.CountryCodeA3]
	if national == 0 {
		national = 10
	}
	digits := max(national-len(g.AreaCode), 4)
	for {
		var b strings.Builder
		b.WriteString("+" + phone + g.AreaCode)
		// A subscriber number never starts with 0 or 1 (NANP exchange rule, harmless elsewhere).
		b.WriteByte(byte('2' + e.rng.IntN(8)))
		for range digits - 1 {
			b.WriteByte(byte('0' + e.rng.IntN(10)))
		}
		s := b.String()
		if !e.usedE164[s] {
			e.usedE164[s] = true
			return s
		}
		// The subscriber space is exhausted only for absurd test groups: widen it.
		if len(e.usedE164) > 0 && e.rng.IntN(1000) == 0 {
			digits++
		}
	}
}

func cloneDID(d *DID) DID {
	c := *d
	c.CityName = clonePtr(d.CityName)
	c.VoiceURIID = clonePtr(d.VoiceURIID)
	c.FaxURIID = clonePtr(d.FaxURIID)
	c.SMSLinkGroupID = clonePtr(d.SMSLinkGroupID)
	c.OrderReference = clonePtr(d.OrderReference)
	c.TrunkID = clonePtr(d.TrunkID)
	c.CapacityGroupID = clonePtr(d.CapacityGroupID)
	c.RegulationAddressID = clonePtr(d.RegulationAddressID)
	c.OtherOptions.Codecs = append([]string(nil), d.OtherOptions.Codecs...)
	return c
}

func parseDate(s string) (time.Time, error) { return time.Parse(dateLayout, s) }
