package embedded

import "time"

// Identity is the client identity that creates a transaction. The creator
// bytes seen by the chaincode (GetCreator) are the protobuf encoding of
// msp.SerializedIdentity{Mspid: MSPID, IdBytes: CertPEM}.
type Identity struct {
	MSPID   string
	CertPEM []byte
}

// Proposal is a chaincode invocation: the function name and its string
// arguments, with optional transient data (never stored in the ledger).
//
// TxID and Nonce are optional; when both are set (typically from an earlier
// NewTxID call) they are used instead of fresh ones, which lets a client
// resubmit a transaction whose commit status is unknown without risk of it
// committing twice: the second copy is invalidated with DUPLICATE_TXID. TxID
// must equal hex(SHA-256(Nonce || creator)).
type Proposal struct {
	Function  string
	Args      []string
	Transient map[string][]byte
	TxID      string
	Nonce     []byte
}

// Result is the outcome of a transaction that committed as VALID.
type Result struct {
	TxID        string
	BlockNumber uint64
	// Payload is the chaincode response payload.
	Payload []byte
	// Event is the chaincode event set by the transaction, or nil.
	Event *ChaincodeEvent
}

// ChaincodeEvent is an event set by a valid committed transaction with
// SetEvent.
type ChaincodeEvent struct {
	BlockNumber uint64
	TxID        string
	Name        string
	Payload     []byte
}

// TxStatus locates a committed transaction and gives its validation code.
type TxStatus struct {
	BlockNumber uint64
	TxNum       uint64
	Code        ValidationCode
}

// Version is the committed version of a key: the block and the transaction
// number within the block that last wrote it. Present is false when the key
// did not exist.
type Version struct {
	Present bool
	Block   uint64
	TxNum   uint64
}

// KVRead is a key read by GetState or GetMultipleStates, with the version
// that was committed in the simulation snapshot.
type KVRead struct {
	Key     string
	Version Version
}

// RangeRead records a range query: the range actually covered and the
// results the chaincode consumed. When Exhausted is false, EndKey is the last
// key consumed and the range is re-checked inclusively at commit.
type RangeRead struct {
	StartKey  string
	EndKey    string
	Exhausted bool
	Reads     []KVRead
}

// KVWrite is a write of a transaction. IsDelete is true for DelState and, as
// in Fabric, for PutState with an empty value.
type KVWrite struct {
	Key      string
	IsDelete bool
	Value    []byte
}

// Transaction is a transaction as recorded in a block.
type Transaction struct {
	TxID      string
	Nonce     []byte
	Timestamp time.Time
	// Creator is the serialized identity of the client.
	Creator         []byte
	Function        string
	Args            []string
	ResponseStatus  int32
	ResponseMessage string
	ResponsePayload []byte
	Reads           []KVRead
	RangeReads      []RangeRead
	Writes          []KVWrite
	// EventName and EventPayload hold the chaincode event; EventName is
	// empty when the transaction set none.
	EventName    string
	EventPayload []byte
}

// BlockHeader is the hashed part of a block. A block's hash is the SHA-256 of
// the ASN.1 DER encoding of its header, as in Fabric.
type BlockHeader struct {
	Number       uint64
	PreviousHash []byte
	DataHash     []byte
}

// BlockSignature is the orderer's ECDSA signature over the SHA-256 of the
// block header's encoding, with the signer's MSP ID and certificate.
type BlockSignature struct {
	MSPID     string
	CertPEM   []byte
	Signature []byte
}

// Block is a stored block. Block 0 is the genesis block: it carries the
// channel ID and chaincode name and no transactions.
type Block struct {
	Header BlockHeader
	// Data holds the encoded entries covered by Header.DataHash: the
	// genesis configuration in block 0, one encoded transaction per entry
	// in other blocks.
	Data [][]byte
	// Transactions are the decoded entries of Data (empty for block 0).
	Transactions []Transaction
	// ValidationCodes holds one code per transaction; like Fabric's
	// transaction filter it is block metadata, outside DataHash.
	ValidationCodes []ValidationCode
	Signature       BlockSignature
	// ChannelID and ChaincodeName are set in the genesis block only.
	ChannelID     string
	ChaincodeName string
}

// Hash returns the block hash: SHA-256 of the ASN.1 DER encoding of the
// header.
func (b *Block) Hash() []byte {
	return headerHash(b.Header)
}
