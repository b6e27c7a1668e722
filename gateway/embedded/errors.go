package embedded

import (
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// ValidationCode is the outcome of validating an ordered transaction. Its
// values are the names of Fabric's peer.TxValidationCode enum.
type ValidationCode string

// Validation codes produced by the embedded ledger; the identifiers and
// values are Fabric's names.
const (
	// VALID marks a transaction whose writes were applied to state.
	VALID ValidationCode = "VALID"
	// MVCC_READ_CONFLICT marks a transaction that read a key whose committed
	// version changed before the transaction was validated.
	MVCC_READ_CONFLICT ValidationCode = "MVCC_READ_CONFLICT" //nolint:revive // Fabric's name.
	// PHANTOM_READ_CONFLICT marks a transaction whose range query would
	// return different keys or versions when re-executed at commit time.
	PHANTOM_READ_CONFLICT ValidationCode = "PHANTOM_READ_CONFLICT" //nolint:revive // Fabric's name.
	// DUPLICATE_TXID marks a transaction whose ID was already used by a
	// committed transaction or by an earlier transaction in the same block.
	DUPLICATE_TXID ValidationCode = "DUPLICATE_TXID" //nolint:revive // Fabric's name.
)

// fabricCode maps a ValidationCode to the numeric Fabric code stored in block
// metadata.
func (c ValidationCode) fabricCode() (peer.TxValidationCode, bool) {
	v, ok := peer.TxValidationCode_value[string(c)]
	return peer.TxValidationCode(v), ok
}

// codeFromFabric maps a stored numeric Fabric code back to a ValidationCode.
func codeFromFabric(b byte) ValidationCode {
	return ValidationCode(peer.TxValidationCode(b).String())
}

// Sentinel errors. ErrMVCCReadConflict, ErrPhantomReadConflict and
// ErrDuplicateTxID match a *CommitError with the corresponding code through
// errors.Is.
var (
	ErrMVCCReadConflict    = errors.New("embedded: MVCC read conflict")
	ErrPhantomReadConflict = errors.New("embedded: phantom read conflict")
	ErrDuplicateTxID       = errors.New("embedded: duplicate transaction ID")
	// ErrNotFound is returned for an unknown transaction ID or block number.
	ErrNotFound = errors.New("embedded: not found")
	// ErrClosed is returned by calls on a closed Ledger.
	ErrClosed = errors.New("embedded: ledger closed")
	// ErrPaginatedQueryWithWrites is returned when a transaction both writes
	// and runs a paginated query, which Fabric supports only in read-only
	// transactions. Nothing is ordered.
	ErrPaginatedQueryWithWrites = errors.New("embedded: paginated queries are supported only in a read-only transaction")
)

// ChaincodeError is returned when the chaincode responded with a status of
// 400 (shim.ERRORTHRESHOLD) or more. Nothing was ordered.
type ChaincodeError struct {
	Status  int32
	Message string
}

// Error implements error.
func (e *ChaincodeError) Error() string {
	return fmt.Sprintf("embedded: chaincode returned status %d: %s", e.Status, e.Message)
}

// CommitError is returned by Submit when the transaction was ordered into
// block BlockNumber but invalidated with Code; it changed no state.
type CommitError struct {
	TxID        string
	BlockNumber uint64
	Code        ValidationCode
}

// Error implements error.
func (e *CommitError) Error() string {
	return fmt.Sprintf("embedded: transaction %s in block %d is invalid: %s", e.TxID, e.BlockNumber, e.Code)
}

// Is reports whether target is the sentinel error for e.Code
// (ErrMVCCReadConflict, ErrPhantomReadConflict or ErrDuplicateTxID).
func (e *CommitError) Is(target error) bool {
	switch target {
	case ErrMVCCReadConflict:
		return e.Code == MVCC_READ_CONFLICT
	case ErrPhantomReadConflict:
		return e.Code == PHANTOM_READ_CONFLICT
	case ErrDuplicateTxID:
		return e.Code == DUPLICATE_TXID
	}
	return false
}
