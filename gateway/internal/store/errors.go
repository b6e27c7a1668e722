package store

import "errors"

// Sentinel errors. Every error the package returns that falls into one of
// these classes wraps the sentinel, so test with errors.Is. Messages carry
// the record ID and version at fault, never content, keys or salts.
var (
	// ErrNotFound reports that no entry exists for the record version (or
	// for any version of the record).
	ErrNotFound = errors.New("store: not found")
	// ErrExists reports that the record version is already stored, or
	// already anchored under a different transaction.
	ErrExists = errors.New("store: already exists")
	// ErrCorrupt reports that a blob or a wrapped key failed authentication
	// or is malformed: tampered, truncated, reordered, extended, moved from
	// another record version, or wrapped under a different KEK.
	ErrCorrupt = errors.New("store: corrupt or tampered data")
	// ErrErased reports that the record was erased (crypto-shredded); its
	// content can no longer be read and no new version can be stored.
	ErrErased = errors.New("store: record erased")
	// ErrNotPending reports an operation that needs a pending entry (Discard)
	// on an entry that is already anchored.
	ErrNotPending = errors.New("store: entry is not pending")
	// ErrInvalid reports an invalid argument: a malformed record ID, a
	// version outside 1..MaxVersion, an empty transaction ID.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrKeyUnavailable reports that the keyring does not hold the KEK a DEK
	// is wrapped under (for example because it was deleted after a
	// rotation, before RewrapAll finished).
	ErrKeyUnavailable = errors.New("store: key-encryption key unavailable")
	// ErrClosed reports use of a Store after Close.
	ErrClosed = errors.New("store: closed")
	// ErrLocked reports that Open found the store directory already open
	// (its LOCK file is locked by this or another process).
	ErrLocked = errors.New("store: directory is locked by another Store")
)
