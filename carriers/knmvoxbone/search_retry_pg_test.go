//go:build !nopg

package knmvoxbone

import (
	"testing"

	"github.com/knmproject/knm"
)

// The searches that buy, on PostgreSQL: retries, idempotency keys, holds.
func TestSearchMoneyPostgres(t *testing.T) {
	t.Parallel()
	for name, test := range map[string]func(*testing.T, knm.Store){
		"RetryWaitsForTheUnfinishedOrder":          testRetryWaitsForTheUnfinishedOrder,
		"RetryAfterACrashWaitsForRecovery":         testRetryAfterACrashWaitsForRecovery,
		"IdempotencyKeyNeverBuysTwice":             testIdempotencyKeyNeverBuysTwice,
		"HeldNumbersServeTheirAccountAndExpire":    testHeldNumbersServeTheirAccountAndExpire,
		"ConcurrentSearchesShareOneOrder":          testConcurrentSearchesShareOneOrder,
		"SearchRefusedWhenTheBudgetCannotCarryIt":  testSearchRefusedWhenTheBudgetCannotCarryIt,
		"SearchLeftBeforeCheckoutBuysNothing":      testSearchLeftBeforeCheckoutBuysNothing,
		"KeyRetriesOfSettledSearchBuyNothing":      testKeyRetriesOfSettledSearchBuyNothing,
		"CallerLeavingGatheredBatchIsToldItsOrder": testCallerLeavingGatheredBatchIsToldItsOrder,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, openPostgres(t))
		})
	}
}
