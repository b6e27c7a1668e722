package ledger

import "regexp"

// TxBaselinePut is the one transaction of the Baseline contract, the
// chaincode's second contract: a fixed-value write that load tests submit
// as the floor against which medprov's own transactions are measured. The
// name is qualified by the contract ("Baseline:"), as the contract API
// dispatches it. Once deployed a name is forever.
const TxBaselinePut = "Baseline:Put"

// KindBaseline is the kind of the document Baseline:Put stores.
const KindBaseline = "baseline"

// MaxNonceLen is the longest nonce Baseline:Put takes.
const MaxNonceLen = 64

var noncePattern = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// CheckNonce checks a Baseline:Put nonce: 1 to 64 lowercase hex digits.
// The nonce names the key written and is the only thing a caller chooses,
// so no free-form bytes reach the ledger through the baseline. Errors:
// INVALID_ARGUMENT naming arg.
func CheckNonce(arg, s string) error {
	if !noncePattern.MatchString(s) {
		return InvalidArgument(arg, "want 1 to %d lowercase hex digits", MaxNonceLen)
	}
	return nil
}
