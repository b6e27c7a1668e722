package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Counts is how many record versions the store holds in each state.
type Counts struct {
	Pending, Anchored, Erased int
}

// Counts reads the index and counts its record versions by state. It reads
// every entry (one read transaction, no blob), so it costs time in
// proportion to the number of versions stored: an administrative call, not
// one for every request. Errors: ErrCorrupt for an entry that does not
// decode, ErrClosed, and ctx's error.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEntries).ForEach(func(_, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			ie, err := decodeEntry(v)
			if err != nil {
				return err
			}
			switch ie.entry().State {
			case StatePending:
				c.Pending++
			case StateAnchored:
				c.Anchored++
			case StateErased:
				c.Erased++
			}
			return nil
		})
	})
	if err != nil {
		return Counts{}, fmt.Errorf("count entries: %w", err)
	}
	return c, nil
}
