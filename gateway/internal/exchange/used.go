package exchange

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// UsedTickets remembers which tickets were honoured. Implementations are
// safe for concurrent use.
type UsedTickets interface {
	// MarkUsed records txID as used, with at, the time of its access event,
	// and reports whether this was its first use. Of concurrent calls for
	// one txID exactly one reports true. When it returns, the mark is
	// durable.
	MarkUsed(txID string, at time.Time) (firstUse bool, err error)
	// Prune forgets the tickets whose event time is before before and
	// returns how many it forgot.
	Prune(before time.Time) (int, error)
	// Close releases the store.
	Close() error
}

// usedBucket holds txID → event time (Unix nanoseconds, big-endian).
var usedBucket = []byte("used")

// BoltUsed is a UsedTickets in a bbolt file. Each MarkUsed is one bbolt
// write transaction, whose commit fsyncs the file before MarkUsed
// returns: a ticket reported as first used stays used across crashes.
type BoltUsed struct {
	db *bolt.DB
}

// OpenUsed opens (or creates, mode 0600) the used-ticket store at path. It
// fails after a second if another process holds the file.
func OpenUsed(path string) (*BoltUsed, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("exchange: open used tickets: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(usedBucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("exchange: open used tickets: %w", err)
	}
	return &BoltUsed{db: db}, nil
}

// MarkUsed implements UsedTickets. bbolt serialises write transactions,
// so the look-up and the write are atomic.
func (u *BoltUsed) MarkUsed(txID string, at time.Time) (bool, error) {
	first := false
	err := u.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(usedBucket)
		if b.Get([]byte(txID)) != nil {
			return nil
		}
		first = true
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(at.UnixNano()))
		return b.Put([]byte(txID), v[:])
	})
	if err != nil {
		return false, fmt.Errorf("exchange: mark ticket used: %w", err)
	}
	return first, nil
}

// Prune implements UsedTickets.
func (u *BoltUsed) Prune(before time.Time) (int, error) {
	n := 0
	err := u.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(usedBucket)
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return errors.New("corrupt entry")
			}
			if int64(binary.BigEndian.Uint64(v)) < before.UnixNano() {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("exchange: prune used tickets: %w", err)
	}
	return n, nil
}

// Close closes the file.
func (u *BoltUsed) Close() error { return u.db.Close() }
