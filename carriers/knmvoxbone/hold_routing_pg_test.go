//go:build !nopg

package knmvoxbone

import "testing"

// TestHeldNumbersRoutedLaterStillExpirePostgres: as on SQLite, where the store keeps the
// numbers' JSON as jsonb.
func TestHeldNumbersRoutedLaterStillExpirePostgres(t *testing.T) {
	t.Parallel()
	testHeldNumbersRoutedLaterStillExpire(t, openPostgres(t))
}
