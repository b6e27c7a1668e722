package ledger

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SaltSize is the size of a record's commitment salt.
const SaltSize = 32

// Commitment computes a record version's salted commitment:
// HMAC-SHA256(key = salt, msg = SHA-256(content)), in lowercase hex.
// contentHash is SHA-256 of the content, so that a large file is hashed once
// while it streams. The salt stays off-chain; without it the commitment
// cannot be tested against a guessed document.
func Commitment(salt []byte, contentHash [sha256.Size]byte) string {
	m := hmac.New(sha256.New, salt)
	m.Write(contentHash[:])
	return hex.EncodeToString(m.Sum(nil))
}
