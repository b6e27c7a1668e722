package embedded

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// eventChunk is the most events read per database transaction when
// replaying, so subscribers never hold a snapshot for long.
const eventChunk = 256

// Events returns a channel of the chaincode events of valid transactions,
// in commit order: first the events already committed in blocks fromBlock
// and later, then live events as blocks commit. Invalid transactions'
// events are never delivered. The channel is closed when ctx ends or the
// ledger closes. A slow reader delays only its own channel, never the
// committer.
func (l *Ledger) Events(ctx context.Context, fromBlock uint64) (<-chan ChaincodeEvent, error) {
	l.lifeMu.RLock()
	closed := l.closed
	l.lifeMu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	ch := make(chan ChaincodeEvent, 16)
	go l.deliverEvents(ctx, fromBlock, ch)
	return ch, nil
}

func (l *Ledger) deliverEvents(ctx context.Context, fromBlock uint64, ch chan<- ChaincodeEvent) {
	defer close(ch)
	pos := eventKey(fromBlock, 0) // next event key to read
	for {
		height, committed := l.heightAndWait()
		var batch []ChaincodeEvent
		var next []byte
		err := l.view(func(tx *bolt.Tx) error {
			limit := eventKey(height, 0)
			c := tx.Bucket(bucketEvents).Cursor()
			txs := tx.Bucket(bucketTxs)
			for k, _ := c.Seek(pos); k != nil && bytes.Compare(k, limit) < 0 && len(batch) < eventChunk; k, _ = c.Next() {
				ev, err := storedEvent(txs, k)
				if err != nil {
					return err
				}
				batch = append(batch, ev)
				next = append(bytes.Clone(k), 0) // smallest key after k
			}
			return nil
		})
		if err != nil {
			return
		}
		for _, ev := range batch {
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			case <-l.closedCh:
				return
			}
		}
		if len(batch) == eventChunk {
			pos = next
			continue
		}
		if next != nil {
			pos = next
		}
		if h := eventKey(height, 0); bytes.Compare(pos, h) < 0 {
			pos = h
		}
		select {
		case <-committed:
		case <-ctx.Done():
			return
		case <-l.closedCh:
			return
		}
	}
}

// storedEvent reads the chaincode event of the transaction at entry key k.
func storedEvent(txs *bolt.Bucket, k []byte) (ChaincodeEvent, error) {
	block, _, ok := splitEntryKey(k)
	raw := txs.Get(k)
	if !ok || raw == nil {
		return ChaincodeEvent{}, fmt.Errorf("embedded: event %x: %w", k, errCorrupt)
	}
	s, err := summarizeTx(raw, "", false)
	if err != nil {
		return ChaincodeEvent{}, fmt.Errorf("embedded: event %x: %w", k, err)
	}
	return ChaincodeEvent{BlockNumber: block, TxID: s.TxID, Name: s.EventName, Payload: s.EventPayload}, nil
}
