package knm

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"
)

// SystemAccountID is Kazoo's pseudo-account "system": internal callers act as it and it
// bypasses every permission check.
const SystemAccountID = "system"

// Account is a customer account in the account tree. Permissions over numbers follow the
// tree (kazoo-knm §3.5).
type Account struct {
	ID                   string    // 32 lower-case hex characters
	Rev                  int64     // store revision
	Name                 string    //
	ParentID             string    // "" for a root account
	Tree                 []string  // pvt_tree: ancestors, root first, parent last
	Reseller             bool      // pvt_reseller
	ResellerID           string    // pvt_reseller_id: the nearest reseller above (or itself)
	SuperduperAdmin      bool      // pvt_superduper_admin
	AllowNumberAdditions bool      // pvt_wnm_allow_additions
	Enabled              bool      // pvt_enabled
	Created              time.Time //
	Modified             time.Time //
}

// NewAccountID returns a random 32-hex account id, as Kazoo makes them.
func NewAccountID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("knm: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// ValidAccountID reports whether id is 32 lower- or upper-case hex characters.
func ValidAccountID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// HasInHierarchy reports whether a is b itself or one of b's ancestors: Kazoo's
// is_in_account_hierarchy(a, b).
func (b *Account) HasInHierarchy(a string) bool {
	return a != "" && (a == b.ID || slices.Contains(b.Tree, a))
}

// IsAdmin reports whether the account bypasses ownership checks (the system pseudo-account
// or a superduper admin).
func (b *Account) IsAdmin() bool { return b.ID == SystemAccountID || b.SuperduperAdmin }
