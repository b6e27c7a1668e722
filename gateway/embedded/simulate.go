package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// simulation is the endorsed result of running the chaincode once.
type simulation struct {
	tx *Transaction
}

// simulate runs the chaincode for p against one snapshot of committed state
// and returns the transaction with its read/write set. It returns a
// *ChaincodeError for a response status of 400 or more and
// ErrPaginatedQueryWithWrites when the chaincode mixed paginated queries with
// writes.
func (l *Ledger) simulate(id Identity, p Proposal) (*simulation, error) {
	creator, err := creatorBytes(id)
	if err != nil {
		return nil, err
	}
	txID, nonce := p.TxID, p.Nonce
	switch {
	case txID == "" && len(nonce) == 0:
		if nonce, err = l.newNonce(); err != nil {
			return nil, err
		}
		txID = computeTxID(nonce, creator)
	case txID == "" || len(nonce) == 0:
		return nil, errors.New("embedded: Proposal.TxID and Proposal.Nonce must be set together")
	default:
		if want := computeTxID(nonce, creator); txID != want {
			return nil, fmt.Errorf("embedded: Proposal.TxID %s does not match SHA-256(nonce || creator) = %s", txID, want)
		}
	}
	args := make([][]byte, 0, 1+len(p.Args))
	args = append(args, []byte(p.Function))
	for _, a := range p.Args {
		args = append(args, []byte(a))
	}
	s := &stub{
		l:         l,
		txID:      txID,
		nonce:     nonce,
		creator:   creator,
		timestamp: l.cfg.Clock(),
		args:      args,
		transient: p.Transient,
		reads:     make(map[string]Version),
		writes:    make(map[string]KVWrite),
	}
	resp, err := l.invoke(s)
	if err != nil {
		return nil, err
	}
	if resp.Status >= shim.ERRORTHRESHOLD {
		return nil, &ChaincodeError{Status: resp.Status, Message: resp.Message}
	}
	if s.violation != nil {
		return nil, s.violation
	}
	t := &Transaction{
		TxID:            txID,
		Nonce:           nonce,
		Timestamp:       s.timestamp.UTC(),
		Creator:         creator,
		Function:        p.Function,
		Args:            append([]string(nil), p.Args...),
		ResponseStatus:  resp.Status,
		ResponseMessage: resp.Message,
		ResponsePayload: bytes.Clone(resp.Payload),
		EventName:       s.eventName,
		EventPayload:    s.eventPayload,
	}
	for k, v := range s.reads {
		t.Reads = append(t.Reads, KVRead{Key: k, Version: v})
	}
	sort.Slice(t.Reads, func(i, j int) bool { return t.Reads[i].Key < t.Reads[j].Key })
	for _, rr := range s.ranges {
		t.RangeReads = append(t.RangeReads, *rr)
	}
	for _, w := range s.writes {
		t.Writes = append(t.Writes, w)
	}
	sort.Slice(t.Writes, func(i, j int) bool { return t.Writes[i].Key < t.Writes[j].Key })
	return &simulation{tx: t}, nil
}

// invoke runs the chaincode's Invoke inside a read-only snapshot. A panic in
// the chaincode becomes a status-500 ChaincodeError instead of crashing the
// process.
func (l *Ledger) invoke(s *stub) (resp *peer.Response, err error) {
	l.lifeMu.RLock()
	defer l.lifeMu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	btx, err := l.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("embedded: begin snapshot: %w", err)
	}
	s.btx = btx
	s.state = btx.Bucket(bucketState)
	s.history = btx.Bucket(bucketHistory)
	defer func() {
		s.done = true
		_ = btx.Rollback()
		if r := recover(); r != nil {
			resp, err = nil, &ChaincodeError{Status: shim.ERROR, Message: fmt.Sprintf("chaincode panicked: %v\n%s", r, debug.Stack())}
		}
	}()
	resp = l.cc.Invoke(s)
	if resp == nil {
		return nil, &ChaincodeError{Status: shim.ERROR, Message: "chaincode returned a nil response"}
	}
	return resp, nil
}
