package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The ledger's on-disk and hashed encodings are simple length-prefixed
// fields: unsigned varints for lengths and counts, fixed 8-byte big-endian
// integers where order matters. They are deterministic by construction.

// Data entry kinds: the first byte of every block data entry.
const (
	entryGenesis byte = 1
	entryTx      byte = 2
	// entryTxStored is the stored form of an entryTx entry: the same
	// encoding, with the creator field holding the SHA-256 of the creator,
	// whose bytes are kept once in the creators bucket. The data hash and
	// Block always use the full entryTx form.
	entryTxStored byte = 3
)

// blockFormat is the first byte of a stored block record.
const blockFormat byte = 2

type encoder struct{ b []byte }

func (e *encoder) byte1(v byte)     { e.b = append(e.b, v) }
func (e *encoder) u64(v uint64)     { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) boolean(v bool) {
	if v {
		e.byte1(1)
	} else {
		e.byte1(0)
	}
}
func (e *encoder) version(v Version) { e.boolean(v.Present); e.uvarint(v.Block); e.uvarint(v.TxNum) }

var errCorrupt = errors.New("corrupt encoding")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) byte1() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length or element count, rejecting values that cannot fit in
// the remaining input (each element takes at least one byte).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

// bytes returns a copy of a length-prefixed field (nil when empty).
func (d *decoder) bytes() []byte {
	n := d.count()
	if n == 0 || d.err != nil {
		return nil
	}
	out := make([]byte, n)
	copy(out, d.b[:n])
	d.b = d.b[n:]
	return out
}

func (d *decoder) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) boolean() bool {
	switch d.byte1() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

func (d *decoder) version() Version {
	return Version{Present: d.boolean(), Block: d.uvarint(), TxNum: d.uvarint()}
}

// finish reports an error if decoding failed or left trailing bytes.
func (d *decoder) finish(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("decode %s: %w", what, d.err)
	}
	return nil
}

// encodeTx returns the block data entry of a transaction. Transient data is
// never part of it.
func encodeTx(t *Transaction) []byte {
	return encodeTxAs(t, entryTx, t.Creator, 256+len(t.Creator))
}

// encodeStoredTx returns the stored form of a transaction's data entry and
// the key of its creator in the creators bucket.
func encodeStoredTx(t *Transaction) (stored, creatorKey []byte) {
	sum := sha256.Sum256(t.Creator)
	return encodeTxAs(t, entryTxStored, sum[:], 256), sum[:]
}

func encodeTxAs(t *Transaction, kind byte, creator []byte, size int) []byte {
	size += len(t.ResponsePayload) + len(t.EventPayload) + len(t.Args)*16 + (len(t.Reads)+len(t.Writes))*64
	for _, a := range t.Args {
		size += len(a)
	}
	for _, w := range t.Writes {
		size += len(w.Value)
	}
	e := &encoder{b: make([]byte, 0, size)}
	e.byte1(kind)
	e.str(t.TxID)
	e.bytes(t.Nonce)
	e.u64(uint64(t.Timestamp.Unix()))
	e.uvarint(uint64(t.Timestamp.Nanosecond()))
	e.bytes(creator)
	e.str(t.Function)
	e.uvarint(uint64(len(t.Args)))
	for _, a := range t.Args {
		e.str(a)
	}
	e.u64(uint64(uint32(t.ResponseStatus)))
	e.str(t.ResponseMessage)
	e.bytes(t.ResponsePayload)
	e.uvarint(uint64(len(t.Reads)))
	for _, r := range t.Reads {
		e.str(r.Key)
		e.version(r.Version)
	}
	e.uvarint(uint64(len(t.RangeReads)))
	for _, rr := range t.RangeReads {
		e.str(rr.StartKey)
		e.str(rr.EndKey)
		e.boolean(rr.Exhausted)
		e.uvarint(uint64(len(rr.Reads)))
		for _, r := range rr.Reads {
			e.str(r.Key)
			e.version(r.Version)
		}
	}
	e.uvarint(uint64(len(t.Writes)))
	for _, w := range t.Writes {
		e.str(w.Key)
		e.boolean(w.IsDelete)
		e.bytes(w.Value)
	}
	e.str(t.EventName)
	e.bytes(t.EventPayload)
	return e.b
}

func decodeTx(b []byte) (*Transaction, error) {
	d := &decoder{b: b}
	if d.byte1() != entryTx {
		return nil, fmt.Errorf("decode transaction: %w: not a transaction entry", errCorrupt)
	}
	t := &Transaction{}
	t.TxID = d.str()
	t.Nonce = d.bytes()
	sec := int64(d.u64())
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail()
	}
	t.Timestamp = time.Unix(sec, int64(nsec)).UTC()
	t.Creator = d.bytes()
	t.Function = d.str()
	if n := d.count(); n > 0 {
		t.Args = make([]string, n)
		for i := range t.Args {
			t.Args[i] = d.str()
		}
	}
	t.ResponseStatus = int32(uint32(d.u64()))
	t.ResponseMessage = d.str()
	t.ResponsePayload = d.bytes()
	if n := d.count(); n > 0 {
		t.Reads = make([]KVRead, n)
		for i := range t.Reads {
			t.Reads[i] = KVRead{Key: d.str(), Version: d.version()}
		}
	}
	if n := d.count(); n > 0 {
		t.RangeReads = make([]RangeRead, n)
		for i := range t.RangeReads {
			rr := &t.RangeReads[i]
			rr.StartKey = d.str()
			rr.EndKey = d.str()
			rr.Exhausted = d.boolean()
			if m := d.count(); m > 0 {
				rr.Reads = make([]KVRead, m)
				for j := range rr.Reads {
					rr.Reads[j] = KVRead{Key: d.str(), Version: d.version()}
				}
			}
		}
	}
	if n := d.count(); n > 0 {
		t.Writes = make([]KVWrite, n)
		for i := range t.Writes {
			t.Writes[i] = KVWrite{Key: d.str(), IsDelete: d.boolean(), Value: d.bytes()}
		}
	}
	t.EventName = d.str()
	t.EventPayload = d.bytes()
	if err := d.finish("transaction"); err != nil {
		return nil, err
	}
	return t, nil
}

func encodeGenesis(channelID, chaincodeName string) []byte {
	e := &encoder{}
	e.byte1(entryGenesis)
	e.str(channelID)
	e.str(chaincodeName)
	return e.b
}

func decodeGenesis(b []byte) (channelID, chaincodeName string, err error) {
	d := &decoder{b: b}
	if d.byte1() != entryGenesis {
		return "", "", fmt.Errorf("decode genesis: %w: not a genesis entry", errCorrupt)
	}
	channelID, chaincodeName = d.str(), d.str()
	return channelID, chaincodeName, d.finish("genesis")
}

// headerBytes is the ASN.1 DER encoding of a block header, as Fabric's
// protoutil.BlockHeaderBytes makes it: SEQUENCE { INTEGER number,
// OCTET STRING previousHash, OCTET STRING dataHash }. It is written by hand
// so that it cannot fail; a test checks it against encoding/asn1.
func headerBytes(h BlockHeader) []byte {
	num := new(big.Int).SetUint64(h.Number).Bytes()
	if len(num) == 0 || num[0]&0x80 != 0 {
		num = append([]byte{0}, num...) // DER INTEGER: minimal, non-negative
	}
	var body []byte
	body = derTLV(body, 0x02, num)
	body = derTLV(body, 0x04, h.PreviousHash)
	body = derTLV(body, 0x04, h.DataHash)
	return derTLV(nil, 0x30, body)
}

// derTLV appends a DER tag, definite length and value to b.
func derTLV(b []byte, tag byte, value []byte) []byte {
	b = append(b, tag)
	n := len(value)
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	default:
		var l []byte
		for ; n > 0; n >>= 8 {
			l = append([]byte{byte(n)}, l...)
		}
		b = append(b, 0x80|byte(len(l)))
		b = append(b, l...)
	}
	return append(b, value...)
}

// headerHash is the block hash: SHA-256 of the header encoding.
func headerHash(h BlockHeader) []byte {
	sum := sha256.Sum256(headerBytes(h))
	return sum[:]
}

// dataHash hashes the block data entries, each prefixed by its 8-byte
// big-endian length so that the hash commits to the entry boundaries.
func dataHash(data [][]byte) []byte {
	h := sha256.New()
	var n [8]byte
	for _, d := range data {
		binary.BigEndian.PutUint64(n[:], uint64(len(d)))
		h.Write(n[:])
		h.Write(d)
	}
	return h.Sum(nil)
}

// storedBlock is a block as kept in the store: its record in the blocks
// bucket (header, entry count, validation codes, signature) and its data
// entries, each stored under its own key in the txs bucket.
type storedBlock struct {
	Header BlockHeader
	Data   [][]byte
	Codes  []byte // Fabric numeric validation codes, one per data entry
	Sig    BlockSignature
}

// blockRecord is the part of a block kept in the blocks bucket.
type blockRecord struct {
	Header  BlockHeader
	Entries uint64 // number of data entries in the txs bucket
	Codes   []byte
	Sig     BlockSignature
}

func encodeBlockRecord(b *blockRecord) []byte {
	e := &encoder{b: make([]byte, 0, 160+len(b.Codes)+len(b.Sig.CertPEM)+len(b.Sig.MSPID))}
	e.byte1(blockFormat)
	e.u64(b.Header.Number)
	e.bytes(b.Header.PreviousHash)
	e.bytes(b.Header.DataHash)
	e.uvarint(b.Entries)
	e.bytes(b.Codes)
	e.str(b.Sig.MSPID)
	e.bytes(b.Sig.CertPEM)
	e.bytes(b.Sig.Signature)
	return e.b
}

func decodeBlockRecord(raw []byte) (*blockRecord, error) {
	d := &decoder{b: raw}
	if d.byte1() != blockFormat {
		return nil, fmt.Errorf("decode block: %w: unknown block format", errCorrupt)
	}
	b := &blockRecord{}
	b.Header.Number = d.u64()
	b.Header.PreviousHash = d.bytes()
	b.Header.DataHash = d.bytes()
	b.Entries = d.uvarint()
	b.Codes = d.bytes()
	b.Sig.MSPID = d.str()
	b.Sig.CertPEM = d.bytes()
	b.Sig.Signature = d.bytes()
	if err := d.finish("block"); err != nil {
		return nil, err
	}
	return b, nil
}

// Data entry keys (txs bucket): 8-byte block number, 8-byte entry number,
// so a block's entries are contiguous and every block appends.
func entryKey(block, txNum uint64) []byte {
	out := binary.BigEndian.AppendUint64(make([]byte, 0, 16), block)
	return binary.BigEndian.AppendUint64(out, txNum)
}

// splitEntryKey is the inverse of entryKey.
func splitEntryKey(k []byte) (block, txNum uint64, ok bool) {
	if len(k) != 16 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k[8:]), true
}

// State values: 8-byte block, 8-byte tx number, then the raw value.
func encodeStateValue(v Version, value []byte) []byte {
	out := make([]byte, 16, 16+len(value))
	binary.BigEndian.PutUint64(out, v.Block)
	binary.BigEndian.PutUint64(out[8:], v.TxNum)
	return append(out, value...)
}

// decodeStateVersion returns the version of a stored state value without
// copying the value.
func decodeStateVersion(raw []byte) (Version, error) {
	if len(raw) < 16 {
		return Version{}, fmt.Errorf("decode state value: %w", errCorrupt)
	}
	return Version{Present: true, Block: binary.BigEndian.Uint64(raw), TxNum: binary.BigEndian.Uint64(raw[8:])}, nil
}

// decodeStateValue returns the version and a copy of the value.
func decodeStateValue(raw []byte) (Version, []byte, error) {
	v, err := decodeStateVersion(raw)
	if err != nil {
		return v, nil, err
	}
	val := make([]byte, len(raw)-16)
	copy(val, raw[16:])
	return v, val, nil
}

// Tx index values: block, tx number, Fabric validation code.
func encodeTxIndex(s TxStatus) []byte {
	e := &encoder{}
	e.u64(s.BlockNumber)
	e.u64(s.TxNum)
	c, _ := s.Code.fabricCode()
	e.byte1(byte(c))
	return e.b
}

func decodeTxIndex(raw []byte) (TxStatus, error) {
	d := &decoder{b: raw}
	s := TxStatus{BlockNumber: d.u64(), TxNum: d.u64(), Code: codeFromFabric(d.byte1())}
	return s, d.finish("transaction index")
}

// History keys: 4-byte key length, key, 8-byte block, 8-byte tx number, so a
// key's entries are contiguous and ordered by commit height.
func historyPrefix(key string) []byte {
	out := make([]byte, 4, 4+len(key)+16)
	binary.BigEndian.PutUint32(out, uint32(len(key)))
	return append(out, key...)
}

func historyKey(key string, block, txNum uint64) []byte {
	out := historyPrefix(key)
	out = binary.BigEndian.AppendUint64(out, block)
	return binary.BigEndian.AppendUint64(out, txNum)
}

// History values are empty: a history entry only says that the transaction
// at (block, txNum) wrote the key. The transaction ID, timestamp, value and
// delete flag are read from the stored transaction, as Fabric's history
// database points into the block store.

// Event keys (events bucket): the entry key of a valid transaction that set a
// chaincode event. The value is empty; the event is read from the stored
// transaction.
func eventKey(block, txNum uint64) []byte { return entryKey(block, txNum) }

// txSummary is what history and event delivery need of a stored
// transaction, decoded without copying or decoding the rest.
type txSummary struct {
	TxID         string
	Timestamp    time.Time
	Write        *KVWrite // the write of the requested key, if any
	EventName    string
	EventPayload []byte
}

// skip skips a length-prefixed field.
func (d *decoder) skip() {
	n := d.count()
	if d.err == nil {
		d.b = d.b[n:]
	}
}

// skipReads skips a count-prefixed list of key reads.
func (d *decoder) skipReads() {
	for n := d.count(); n > 0 && d.err == nil; n-- {
		d.skip()
		d.version()
	}
}

// summarizeTx decodes the transaction ID, timestamp, the write of key (when
// wantWrite is set) and the chaincode event of a data entry made by encodeTx.
func summarizeTx(raw []byte, key string, wantWrite bool) (txSummary, error) {
	d := &decoder{b: raw}
	if k := d.byte1(); k != entryTx && k != entryTxStored {
		return txSummary{}, fmt.Errorf("decode transaction: %w: not a transaction entry", errCorrupt)
	}
	var s txSummary
	s.TxID = d.str()
	d.skip() // nonce
	sec := int64(d.u64())
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail()
	}
	s.Timestamp = time.Unix(sec, int64(nsec)).UTC()
	d.skip() // creator
	d.skip() // function
	for n := d.count(); n > 0 && d.err == nil; n-- {
		d.skip() // args
	}
	d.u64()  // response status
	d.skip() // response message
	d.skip() // response payload
	d.skipReads()
	for n := d.count(); n > 0 && d.err == nil; n-- {
		d.skip() // start key
		d.skip() // end key
		d.boolean()
		d.skipReads()
	}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		k := d.str()
		del := d.boolean()
		if wantWrite && s.Write == nil && k == key {
			s.Write = &KVWrite{Key: k, IsDelete: del, Value: d.bytes()}
		} else {
			d.skip()
		}
	}
	s.EventName = d.str()
	s.EventPayload = d.bytes()
	if err := d.finish("transaction"); err != nil {
		return txSummary{}, err
	}
	return s, nil
}

// creatorField returns the offsets of the creator field (length prefix
// included) of a transaction entry and the field's content.
func creatorField(raw []byte) (start, end int, creator []byte, err error) {
	d := &decoder{b: raw}
	d.byte1()
	d.skip() // tx ID
	d.skip() // nonce
	d.u64()
	d.uvarint()
	start = len(raw) - len(d.b)
	n := d.count()
	if d.err != nil {
		return 0, 0, nil, fmt.Errorf("decode transaction: %w", d.err)
	}
	creator = d.b[:n]
	end = len(raw) - len(d.b) + n
	return start, end, creator, nil
}

// fullEntry returns the data entry (as hashed) of a stored entry, reading
// the creator of an entryTxStored entry from the creators bucket. Other
// entries are returned as they are.
func fullEntry(stored []byte, creators *bolt.Bucket) ([]byte, error) {
	if len(stored) == 0 || stored[0] != entryTxStored {
		return bytes.Clone(stored), nil
	}
	start, end, key, err := creatorField(stored)
	if err != nil {
		return nil, err
	}
	creator := creators.Get(key)
	if creator == nil {
		return nil, fmt.Errorf("creator %x is missing: %w", key, errCorrupt)
	}
	out := make([]byte, 0, len(stored)+len(creator))
	out = append(out, entryTx)
	out = append(out, stored[1:start]...)
	out = binary.AppendUvarint(out, uint64(len(creator)))
	out = append(out, creator...)
	return append(out, stored[end:]...), nil
}
