package embedded

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// totalQueryLimit is Fabric's default core.ledger.state.totalQueryLimit: the
// most records one paginated query returns.
const totalQueryLimit = 100000

var errTxDone = errors.New("embedded: the transaction simulation has ended; stub and iterators can no longer be used")

// unsupported builds the error returned by stub functions the embedded
// ledger does not implement.
func unsupported(what string) error {
	return fmt.Errorf("embedded: %s is not supported by the embedded ledger", what)
}

// stub implements shim.ChaincodeStubInterface over one bbolt read
// transaction. It is used by one chaincode invocation at a time.
type stub struct {
	l         *Ledger
	btx       *bolt.Tx
	state     *bolt.Bucket
	history   *bolt.Bucket
	txID      string
	nonce     []byte
	creator   []byte
	timestamp time.Time
	args      [][]byte
	transient map[string][]byte

	reads  map[string]Version
	ranges []*RangeRead
	writes map[string]KVWrite

	eventName    string
	eventPayload []byte

	writePerformed     bool
	paginatedPerformed bool
	violation          error
	done               bool
}

var _ shim.ChaincodeStubInterface = (*stub)(nil)

// GetArgs returns the function name followed by the arguments.
func (s *stub) GetArgs() [][]byte {
	out := make([][]byte, len(s.args))
	for i, a := range s.args {
		out[i] = bytes.Clone(a)
	}
	return out
}

// GetStringArgs returns the function name followed by the arguments.
func (s *stub) GetStringArgs() []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		out[i] = string(a)
	}
	return out
}

// GetFunctionAndParameters returns the function name and the arguments.
func (s *stub) GetFunctionAndParameters() (string, []string) {
	all := s.GetStringArgs()
	if len(all) == 0 {
		return "", []string{}
	}
	return all[0], all[1:]
}

// GetArgsSlice returns all arguments concatenated.
func (s *stub) GetArgsSlice() ([]byte, error) {
	return bytes.Join(s.args, nil), nil
}

// GetTxID returns the transaction ID.
func (s *stub) GetTxID() string { return s.txID }

// GetChannelID returns the configured channel ID.
func (s *stub) GetChannelID() string { return s.l.cfg.ChannelID }

// InvokeChaincode is not supported.
func (s *stub) InvokeChaincode(chaincodeName string, _ [][]byte, _ string) *peer.Response {
	return &peer.Response{Status: shim.ERROR, Message: unsupported("InvokeChaincode (calling chaincode " + chaincodeName + ")").Error()}
}

// GetState reads the committed value of key and records its version.
func (s *stub) GetState(key string) ([]byte, error) {
	if s.done {
		return nil, errTxDone
	}
	raw := s.state.Get([]byte(key))
	if raw == nil {
		s.reads[key] = Version{}
		return nil, nil
	}
	v, val, err := decodeStateValue(raw)
	if err != nil {
		return nil, fmt.Errorf("embedded: key %q: %w", key, err)
	}
	s.reads[key] = v
	return val, nil
}

// GetMultipleStates reads several keys like GetState.
func (s *stub) GetMultipleStates(keys ...string) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.GetState(k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// checkWrite applies Fabric's write preconditions.
func (s *stub) checkWrite(key string) error {
	if s.done {
		return errTxDone
	}
	if key == "" {
		return errEmptyKey
	}
	if s.paginatedPerformed {
		err := fmt.Errorf("txid [%s]: unsupported transaction: transaction has already performed a paginated query, writes are not allowed: %w", s.txID, ErrPaginatedQueryWithWrites)
		if s.violation == nil {
			s.violation = err
		}
		return err
	}
	if len(key) > bolt.MaxKeySize {
		return fmt.Errorf("embedded: key of %d bytes is longer than the %d bytes the embedded ledger supports", len(key), bolt.MaxKeySize)
	}
	s.writePerformed = true
	return nil
}

// PutState buffers a write. As in Fabric, an empty value deletes the key.
func (s *stub) PutState(key string, value []byte) error {
	if err := s.checkWrite(key); err != nil {
		return err
	}
	s.writes[key] = KVWrite{Key: key, IsDelete: len(value) == 0, Value: bytes.Clone(value)}
	return nil
}

// DelState buffers a delete.
func (s *stub) DelState(key string) error {
	if err := s.checkWrite(key); err != nil {
		return err
	}
	s.writes[key] = KVWrite{Key: key, IsDelete: true}
	return nil
}

// SetStateValidationParameter is not supported.
func (s *stub) SetStateValidationParameter(string, []byte) error {
	return unsupported("key-level endorsement (SetStateValidationParameter)")
}

// GetStateValidationParameter is not supported.
func (s *stub) GetStateValidationParameter(string) ([]byte, error) {
	return nil, unsupported("key-level endorsement (GetStateValidationParameter)")
}

// GetStateByRange iterates keys in [startKey, endKey); empty bounds are open.
func (s *stub) GetStateByRange(startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	if startKey == "" {
		startKey = emptyKeySubstitute
	}
	if err := validateSimpleKeys(startKey, endKey); err != nil {
		return nil, err
	}
	return s.rangeQuery(startKey, endKey)
}

// GetStateByRangeWithPagination returns one page of [startKey, endKey).
func (s *stub) GetStateByRangeWithPagination(startKey, endKey string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if startKey == "" {
		startKey = emptyKeySubstitute
	}
	if err := validateSimpleKeys(startKey, endKey); err != nil {
		return nil, nil, err
	}
	return s.pagedQuery(startKey, endKey, pageSize, bookmark)
}

// GetStateByPartialCompositeKey iterates composite keys with the given prefix.
func (s *stub) GetStateByPartialCompositeKey(objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	start, end, err := partialCompositeKeyRange(objectType, keys)
	if err != nil {
		return nil, err
	}
	return s.rangeQuery(start, end)
}

// GetStateByPartialCompositeKeyWithPagination returns one page of composite
// keys with the given prefix.
func (s *stub) GetStateByPartialCompositeKeyWithPagination(objectType string, keys []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	start, end, err := partialCompositeKeyRange(objectType, keys)
	if err != nil {
		return nil, nil, err
	}
	return s.pagedQuery(start, end, pageSize, bookmark)
}

// GetAllStatesCompositeKeyWithPagination returns one page of all composite keys.
func (s *stub) GetAllStatesCompositeKeyWithPagination(pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	return s.pagedQuery(compositeKeyNamespace, compositeKeyNamespace+string(rune(maxUnicodeRune)), pageSize, bookmark)
}

// CreateCompositeKey builds a composite key in the shim's format.
func (s *stub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return createCompositeKey(objectType, attributes)
}

// SplitCompositeKey parses a composite key.
func (s *stub) SplitCompositeKey(compositeKey string) (string, []string, error) {
	return splitCompositeKey(compositeKey)
}

// GetQueryResult is not supported.
func (s *stub) GetQueryResult(string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("rich queries (GetQueryResult)")
}

// GetQueryResultWithPagination is not supported.
func (s *stub) GetQueryResultWithPagination(string, int32, string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	return nil, nil, unsupported("rich queries (GetQueryResultWithPagination)")
}

// GetHistoryForKey returns the committed modifications of key, newest first.
func (s *stub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	if s.done {
		return nil, errTxDone
	}
	return newHistoryIter(s, key), nil
}

// GetPrivateData is not supported.
func (s *stub) GetPrivateData(string, string) ([]byte, error) {
	return nil, unsupported("private data")
}

// GetMultiplePrivateData is not supported.
func (s *stub) GetMultiplePrivateData(string, ...string) ([][]byte, error) {
	return nil, unsupported("private data")
}

// GetPrivateDataHash is not supported.
func (s *stub) GetPrivateDataHash(string, string) ([]byte, error) {
	return nil, unsupported("private data")
}

// PutPrivateData is not supported.
func (s *stub) PutPrivateData(string, string, []byte) error { return unsupported("private data") }

// DelPrivateData is not supported.
func (s *stub) DelPrivateData(string, string) error { return unsupported("private data") }

// PurgePrivateData is not supported.
func (s *stub) PurgePrivateData(string, string) error { return unsupported("private data") }

// SetPrivateDataValidationParameter is not supported.
func (s *stub) SetPrivateDataValidationParameter(string, string, []byte) error {
	return unsupported("private data")
}

// GetPrivateDataValidationParameter is not supported.
func (s *stub) GetPrivateDataValidationParameter(string, string) ([]byte, error) {
	return nil, unsupported("private data")
}

// GetPrivateDataByRange is not supported.
func (s *stub) GetPrivateDataByRange(string, string, string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("private data")
}

// GetPrivateDataByPartialCompositeKey is not supported.
func (s *stub) GetPrivateDataByPartialCompositeKey(string, string, []string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("private data")
}

// GetPrivateDataQueryResult is not supported.
func (s *stub) GetPrivateDataQueryResult(string, string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("private data")
}

// GetCreator returns the serialized identity of the client.
func (s *stub) GetCreator() ([]byte, error) { return bytes.Clone(s.creator), nil }

// GetTransient returns the proposal's transient data.
func (s *stub) GetTransient() (map[string][]byte, error) {
	out := make(map[string][]byte, len(s.transient))
	for k, v := range s.transient {
		out[k] = v
	}
	return out, nil
}

// GetBinding returns Fabric's proposal binding SHA-256(nonce || creator ||
// epoch), with epoch 0 encoded as 8 little-endian bytes.
func (s *stub) GetBinding() ([]byte, error) {
	h := sha256.New()
	h.Write(s.nonce)
	h.Write(s.creator)
	h.Write(make([]byte, 8))
	return h.Sum(nil), nil
}

// GetDecorations returns an empty map: there are no peer decorators.
func (s *stub) GetDecorations() map[string][]byte { return map[string][]byte{} }

// GetSignedProposal is not supported: proposals are not signed.
func (s *stub) GetSignedProposal() (*peer.SignedProposal, error) {
	return nil, unsupported("GetSignedProposal (proposals are not signed in-process)")
}

// GetTxTimestamp returns the proposal timestamp, the same on every call.
func (s *stub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return timestamppb.New(s.timestamp), nil
}

// SetEvent sets the transaction's chaincode event; the last call wins.
func (s *stub) SetEvent(name string, payload []byte) error {
	if name == "" {
		return errors.New("event name can not be empty string")
	}
	s.eventName = name
	s.eventPayload = bytes.Clone(payload)
	return nil
}

// StartWriteBatch has no effect: writes are always buffered in-process.
func (s *stub) StartWriteBatch() {}

// FinishWriteBatch has no effect.
func (s *stub) FinishWriteBatch() error { return nil }
