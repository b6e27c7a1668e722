package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// pending is an endorsed transaction waiting to be ordered.
type pending struct {
	tx         *Transaction
	data       []byte       // the data entry, as hashed
	stored     []byte       // its stored form (see entryTxStored)
	creatorKey []byte       // the key of tx.Creator in the creators bucket
	done       chan outcome // buffered, receives exactly one outcome
}

// newPending encodes an endorsed transaction for the committer.
func newPending(t *Transaction) *pending {
	stored, creatorKey := encodeStoredTx(t)
	return &pending{tx: t, data: encodeTx(t), stored: stored, creatorKey: creatorKey, done: make(chan outcome, 1)}
}

// outcome is what the committer reports to a submitter.
type outcome struct {
	status TxStatus
	err    error
}

// enqueue hands an endorsed transaction to the committer.
func (l *Ledger) enqueue(p *pending) error {
	l.qmu.Lock()
	if l.closing {
		l.qmu.Unlock()
		return ErrClosed
	}
	l.queue = append(l.queue, p)
	l.qmu.Unlock()
	l.wake()
	return nil
}

// wake nudges the committer without blocking.
func (l *Ledger) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// runCommitter is the single ordering and commit loop. It cuts a block from
// everything queued (up to MaxBlockTxs) whenever it is free, and exits once
// Close was called and the queue is empty.
func (l *Ledger) runCommitter() {
	defer close(l.committerDone)
	for {
		l.qmu.Lock()
		n := min(len(l.queue), l.cfg.MaxBlockTxs)
		batch := l.queue[:n:n]
		if n == len(l.queue) {
			l.queue = nil
		} else {
			l.queue = append([]*pending(nil), l.queue[n:]...)
		}
		closing := l.closing
		l.qmu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			<-l.kick
			continue
		}
		l.commitBlock(batch)
	}
}

// commitBlock orders batch into the next block, validates it, persists it in
// one bbolt transaction and then reports to each submitter.
func (l *Ledger) commitBlock(batch []*pending) {
	number := l.heightForCommitter()
	data := make([][]byte, len(batch))
	for i, p := range batch {
		data[i] = p.data
	}
	hdr := BlockHeader{Number: number, PreviousHash: l.lastHash, DataHash: dataHash(data)}
	statuses := make([]TxStatus, len(batch))
	sig, err := l.sign(hdr)
	if err == nil {
		err = l.db.Update(func(tx *bolt.Tx) error {
			return l.validateAndApply(tx, hdr, sig, batch, data, statuses)
		})
		if err != nil {
			err = fmt.Errorf("embedded: commit block %d: %w", number, err)
		}
	}
	if err != nil {
		for _, p := range batch {
			p.done <- outcome{err: err}
		}
		return
	}
	l.lastHash = headerHash(hdr)
	l.hmu.Lock()
	l.height = number + 1
	close(l.heightCh)
	l.heightCh = make(chan struct{})
	l.hmu.Unlock()
	for i, p := range batch {
		p.done <- outcome{status: statuses[i]}
	}
}

// heightForCommitter reads the height; only the committer changes it.
func (l *Ledger) heightForCommitter() uint64 {
	l.hmu.Lock()
	defer l.hmu.Unlock()
	return l.height
}

// validateAndApply validates the block's transactions in order against
// current state (including the writes of earlier valid transactions of the
// same block), applies valid writes, and stores the block, index, history,
// events and metadata.
func (l *Ledger) validateAndApply(tx *bolt.Tx, hdr BlockHeader, sig BlockSignature, batch []*pending, data [][]byte, statuses []TxStatus) error {
	state := tx.Bucket(bucketState)
	index := tx.Bucket(bucketTxIndex)
	hist := tx.Bucket(bucketHistory)
	events := tx.Bucket(bucketEvents)
	txs := tx.Bucket(bucketTxs)
	blocks := tx.Bucket(bucketBlocks)
	creators := tx.Bucket(bucketCreators)
	// These buckets only ever append: fill their pages completely.
	events.FillPercent, txs.FillPercent, blocks.FillPercent = 1, 1, 1
	codes := make([]byte, len(batch))
	seen := make(map[string]struct{}, len(batch))
	for i, p := range batch {
		t := p.tx
		txNum := uint64(i)
		_, dupInBlock := seen[t.TxID]
		seen[t.TxID] = struct{}{}
		firstUse := !dupInBlock && index.Get([]byte(t.TxID)) == nil
		if err := txs.Put(entryKey(hdr.Number, txNum), p.stored); err != nil {
			return fmt.Errorf("store transaction %s: %w", t.TxID, err)
		}
		if i == 0 || !bytes.Equal(p.creatorKey, batch[i-1].creatorKey) {
			if creators.Get(p.creatorKey) == nil {
				if err := creators.Put(p.creatorKey, t.Creator); err != nil {
					return fmt.Errorf("store creator of %s: %w", t.TxID, err)
				}
			}
		}

		code := VALID
		switch {
		case !firstUse:
			code = DUPLICATE_TXID
		case !readsValid(state, t.Reads):
			code = MVCC_READ_CONFLICT
		case !rangesValid(state, t.RangeReads):
			code = PHANTOM_READ_CONFLICT
		}
		st := TxStatus{BlockNumber: hdr.Number, TxNum: txNum, Code: code}
		statuses[i] = st
		fc, _ := code.fabricCode()
		codes[i] = byte(fc)
		if firstUse {
			if err := index.Put([]byte(t.TxID), encodeTxIndex(st)); err != nil {
				return fmt.Errorf("index transaction %s: %w", t.TxID, err)
			}
		}
		if code != VALID {
			continue
		}
		ver := Version{Present: true, Block: hdr.Number, TxNum: txNum}
		for _, w := range t.Writes {
			var err error
			if w.IsDelete {
				err = state.Delete([]byte(w.Key))
			} else {
				err = state.Put([]byte(w.Key), encodeStateValue(ver, w.Value))
			}
			if err != nil {
				return fmt.Errorf("write key %q: %w", w.Key, err)
			}
			if err := hist.Put(historyKey(w.Key, hdr.Number, txNum), nil); err != nil {
				return fmt.Errorf("write history of key %q: %w", w.Key, err)
			}
		}
		if t.EventName != "" {
			if err := events.Put(eventKey(hdr.Number, txNum), nil); err != nil {
				return fmt.Errorf("store event: %w", err)
			}
		}
	}
	rec := &blockRecord{Header: hdr, Entries: uint64(len(data)), Codes: codes, Sig: sig}
	if err := blocks.Put(blockKey(hdr.Number), encodeBlockRecord(rec)); err != nil {
		return fmt.Errorf("store block: %w", err)
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaHeight, binary.BigEndian.AppendUint64(nil, hdr.Number+1)); err != nil {
		return fmt.Errorf("store height: %w", err)
	}
	if err := meta.Put(metaLastHash, headerHash(hdr)); err != nil {
		return fmt.Errorf("store last hash: %w", err)
	}
	return nil
}

// committedVersion is the current version of a key in state.
func committedVersion(state *bolt.Bucket, key string) Version {
	raw := state.Get([]byte(key))
	if raw == nil {
		return Version{}
	}
	v, err := decodeStateVersion(raw)
	if err != nil {
		// A corrupt value cannot match any recorded version.
		return Version{Present: true, Block: ^uint64(0), TxNum: ^uint64(0)}
	}
	return v
}

// readsValid is MVCC validation: every read version must still be current.
func readsValid(state *bolt.Bucket, reads []KVRead) bool {
	for _, r := range reads {
		if committedVersion(state, r.Key) != r.Version {
			return false
		}
	}
	return true
}

// rangesValid re-executes each recorded range query against current state
// and requires exactly the recorded keys and versions. A range whose
// iterator was not exhausted is re-checked up to and including the last key
// consumed, as Fabric does; a range from which nothing was observed imposes
// no constraint.
func rangesValid(state *bolt.Bucket, ranges []RangeRead) bool {
	for _, rr := range ranges {
		if !rr.Exhausted && len(rr.Reads) == 0 {
			continue
		}
		c := state.Cursor()
		i := 0
		for k, v := c.Seek([]byte(rr.StartKey)); k != nil; k, v = c.Next() {
			if rr.Exhausted {
				if rr.EndKey != "" && bytes.Compare(k, []byte(rr.EndKey)) >= 0 {
					break
				}
			} else if bytes.Compare(k, []byte(rr.EndKey)) > 0 {
				break
			}
			if i >= len(rr.Reads) || string(k) != rr.Reads[i].Key {
				return false
			}
			ver, err := decodeStateVersion(v)
			if err != nil || ver != rr.Reads[i].Version {
				return false
			}
			i++
		}
		if i != len(rr.Reads) {
			return false
		}
	}
	return true
}
