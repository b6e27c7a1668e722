package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var errNoSuchKey = errors.New("no such key")

// rangeItem is one range-query result read from the snapshot.
type rangeItem struct {
	key     string
	value   []byte
	version Version
}

// scanner walks state keys in [start, end) in the snapshot.
type scanner struct {
	c       *bolt.Cursor
	start   []byte
	end     []byte // nil: unbounded
	started bool
	atEnd   bool
}

// next returns the next item, or nil at the end of the range.
func (sc *scanner) next() (*rangeItem, error) {
	if sc.atEnd {
		return nil, nil
	}
	var k, v []byte
	if !sc.started {
		sc.started = true
		k, v = sc.c.Seek(sc.start)
	} else {
		k, v = sc.c.Next()
	}
	if k == nil || (sc.end != nil && bytes.Compare(k, sc.end) >= 0) {
		sc.atEnd = true
		return nil, nil
	}
	ver, val, err := decodeStateValue(v)
	if err != nil {
		return nil, fmt.Errorf("embedded: key %q: %w", k, err)
	}
	return &rangeItem{key: string(k), value: val, version: ver}, nil
}

func newScanner(c *bolt.Cursor, start, end string) *scanner {
	sc := &scanner{c: c, start: []byte(start)}
	if end != "" {
		sc.end = []byte(end)
	}
	return sc
}

// rangeQuery starts a lazily evaluated range query that records what the
// chaincode consumes.
func (s *stub) rangeQuery(start, end string) (*rangeIter, error) {
	if s.done {
		return nil, errTxDone
	}
	rr := &RangeRead{StartKey: start}
	s.ranges = append(s.ranges, rr)
	it := &rangeIter{sc: newScanner(s.state.Cursor(), start, end), end: end, rr: rr}
	it.lookahead = lookahead[rangeItem]{s: s, fetch: it.fetch}
	return it, nil
}

// lookahead holds one result ahead of an iterator, so that HasNext can
// answer without consuming it. fetch returns the next result, or nil at the
// end.
type lookahead[T any] struct {
	s      *stub
	fetch  func() (*T, error)
	peek   *T
	peeked bool
	closed bool
	err    error
}

func (la *lookahead[T]) load() {
	if la.peeked {
		return
	}
	la.peek, la.err = la.fetch()
	la.peeked = true
}

// HasNext reports whether Next has a result (or an error to return).
func (la *lookahead[T]) HasNext() bool {
	if la.closed || la.s.done {
		return false
	}
	la.load()
	return la.peek != nil || la.err != nil
}

// take consumes the result HasNext looked at.
func (la *lookahead[T]) take() (*T, error) {
	if la.s.done {
		return nil, errTxDone
	}
	if la.closed {
		return nil, errors.New("embedded: iterator is closed")
	}
	la.load()
	la.peeked = false
	if la.err != nil {
		return nil, la.err
	}
	if la.peek == nil {
		return nil, errNoSuchKey
	}
	item := la.peek
	la.peek = nil
	return item, nil
}

// Close releases the iterator.
func (la *lookahead[T]) Close() error {
	la.closed = true
	return nil
}

// rangeIter is a lazily evaluated range-query iterator. It records each
// result returned by Next, and marks the range exhausted when HasNext or
// Next observes its end, like Fabric's resultsItr.
type rangeIter struct {
	lookahead[rangeItem]
	sc  *scanner
	end string
	rr  *RangeRead
}

func (it *rangeIter) fetch() (*rangeItem, error) {
	item, err := it.sc.next()
	if item == nil && err == nil {
		it.rr.Exhausted = true
		it.rr.EndKey = it.end
	}
	return item, err
}

// Next returns the next key and value.
func (it *rangeIter) Next() (*queryresult.KV, error) {
	item, err := it.take()
	if err != nil {
		return nil, err
	}
	it.rr.Reads = append(it.rr.Reads, KVRead{Key: item.key, Version: item.version})
	it.rr.EndKey = item.key
	return &queryresult.KV{Namespace: it.s.l.cfg.ChaincodeName, Key: item.key, Value: item.value}, nil
}

// pagedQuery runs a paginated range query the way a Fabric peer does: the
// bookmark, when set, replaces the start key; the whole page is read at
// once; the returned bookmark is the key following the page within the range
// (empty when there is none); FetchedRecordsCount is the page length. With
// page size 0 and no bookmark it is an ordinary range query.
func (s *stub) pagedQuery(start, end string, pageSize int32, bookmark string) (*sliceIter, *peer.QueryResponseMetadata, error) {
	if s.done {
		return nil, nil, errTxDone
	}
	if pageSize == 0 && bookmark == "" {
		it, err := s.rangeQuery(start, end)
		if err != nil {
			return nil, nil, err
		}
		return &sliceIter{lazy: it}, &peer.QueryResponseMetadata{}, nil
	}
	if s.writePerformed {
		err := fmt.Errorf("txid [%s]: unsupported transaction: %w", s.txID, ErrPaginatedQueryWithWrites)
		if s.violation == nil {
			s.violation = err
		}
		return nil, nil, err
	}
	s.paginatedPerformed = true
	if bookmark != "" {
		start = bookmark
	}
	limit := int32(totalQueryLimit)
	if pageSize > 0 && pageSize < limit {
		limit = pageSize
	}
	rr := &RangeRead{StartKey: start}
	s.ranges = append(s.ranges, rr)
	sc := newScanner(s.state.Cursor(), start, end)
	var items []*queryresult.KV
	for int32(len(items)) < limit {
		item, err := sc.next()
		if err != nil {
			return nil, nil, err
		}
		if item == nil {
			rr.Exhausted = true
			rr.EndKey = end
			break
		}
		rr.Reads = append(rr.Reads, KVRead{Key: item.key, Version: item.version})
		rr.EndKey = item.key
		items = append(items, &queryresult.KV{Namespace: s.l.cfg.ChaincodeName, Key: item.key, Value: item.value})
	}
	next := ""
	if !rr.Exhausted {
		item, err := sc.next()
		if err != nil {
			return nil, nil, err
		}
		if item != nil {
			next = item.key
		}
	}
	return &sliceIter{items: items}, &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(items)), Bookmark: next}, nil
}

// sliceIter iterates a materialized page, or wraps a lazy range iterator for
// the non-paginated case of the WithPagination functions.
type sliceIter struct {
	lazy  *rangeIter
	items []*queryresult.KV
	pos   int
}

// HasNext reports whether Next has a result.
func (it *sliceIter) HasNext() bool {
	if it.lazy != nil {
		return it.lazy.HasNext()
	}
	return it.pos < len(it.items)
}

// Next returns the next key and value.
func (it *sliceIter) Next() (*queryresult.KV, error) {
	if it.lazy != nil {
		return it.lazy.Next()
	}
	if it.pos >= len(it.items) {
		return nil, errNoSuchKey
	}
	it.pos++
	return it.items[it.pos-1], nil
}

// Close releases the iterator.
func (it *sliceIter) Close() error {
	if it.lazy != nil {
		return it.lazy.Close()
	}
	return nil
}

// historyIter walks a key's history entries newest first, as Fabric 2.x
// returns them.
type historyIter struct {
	lookahead[queryresult.KeyModification]
	c       *bolt.Cursor
	txs     *bolt.Bucket // the stored transactions the entries point to
	key     string
	prefix  []byte
	started bool
	atEnd   bool
}

func newHistoryIter(s *stub, key string) *historyIter {
	it := &historyIter{c: s.history.Cursor(), txs: s.btx.Bucket(bucketTxs), key: key, prefix: historyPrefix(key)}
	it.lookahead = lookahead[queryresult.KeyModification]{s: s, fetch: it.fetch}
	return it
}

func (it *historyIter) fetch() (*queryresult.KeyModification, error) {
	if it.atEnd {
		return nil, nil
	}
	var k []byte
	if !it.started {
		it.started = true
		upper := append(bytes.Clone(it.prefix), bytes.Repeat([]byte{0xff}, 16)...)
		if k, _ = it.c.Seek(upper); k == nil {
			k, _ = it.c.Last()
		} else {
			k, _ = it.c.Prev()
		}
	} else {
		k, _ = it.c.Prev()
	}
	if k == nil || len(k) != len(it.prefix)+16 || !bytes.HasPrefix(k, it.prefix) {
		it.atEnd = true
		return nil, nil
	}
	block := binary.BigEndian.Uint64(k[len(it.prefix):])
	txNum := binary.BigEndian.Uint64(k[len(it.prefix)+8:])
	raw := it.txs.Get(entryKey(block, txNum))
	if raw == nil {
		return nil, fmt.Errorf("embedded: history of %q: transaction %d of block %d: %w", it.key, txNum, block, errCorrupt)
	}
	h, err := summarizeTx(raw, it.key, true)
	if err == nil && h.Write == nil {
		err = errCorrupt
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: history of %q: transaction %d of block %d: %w", it.key, txNum, block, err)
	}
	return &queryresult.KeyModification{TxId: h.TxID, Value: h.Write.Value, Timestamp: timestamppb.New(h.Timestamp), IsDelete: h.Write.IsDelete}, nil
}

// Next returns the next modification, newest first.
func (it *historyIter) Next() (*queryresult.KeyModification, error) { return it.take() }
