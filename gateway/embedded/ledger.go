package embedded

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

// Bucket names of the bbolt file.
var (
	bucketState    = []byte("state")    // key -> version + value
	bucketHistory  = []byte("history")  // len(key) key block txnum -> empty (see the stored tx)
	bucketBlocks   = []byte("blocks")   // block number -> block record (header, codes, signature)
	bucketTxs      = []byte("txs")      // block txnum -> block data entry (encoded transaction)
	bucketCreators = []byte("creators") // SHA-256 of a creator -> creator (serialized identity)
	bucketTxIndex  = []byte("txindex")  // txID -> block, txnum, code (first occurrence)
	bucketEvents   = []byte("events")   // block txnum -> empty: valid tx with an event
	bucketMeta     = []byte("meta")     // see meta keys
)

// Meta keys.
var (
	metaFormat    = []byte("format")
	metaChannel   = []byte("channel")
	metaChaincode = []byte("chaincode")
	metaHeight    = []byte("height")
	metaLastHash  = []byte("lasthash")
)

// storeFormat is the version of the on-disk layout. Format 1 kept each
// block's data in one value and copied values into history and events;
// format 2 keeps each data entry under its own key and history and events
// point to it.
const storeFormat byte = 2

// nonceSize is Fabric's nonce length (common/crypto.NonceSize).
const nonceSize = 24

// openTimeout bounds the wait for bbolt's file lock.
const openTimeout = 5 * time.Second

// Ledger is an in-process ledger for one channel and one chaincode. All
// methods are safe for concurrent use.
type Ledger struct {
	cfg         Config
	cc          shim.Chaincode
	db          *bolt.DB
	ordererCert *x509.Certificate
	ordererPub  *ecdsa.PublicKey

	// lifeMu guards closed; readers of the database hold it for reading so
	// that Close can wait for them before closing the file.
	lifeMu   sync.RWMutex
	closed   bool
	closedCh chan struct{}

	closeOnce sync.Once
	closeErr  error

	// qmu guards the ordering queue and closing.
	qmu           sync.Mutex
	queue         []*pending
	closing       bool
	kick          chan struct{}
	committerDone chan struct{}

	// hmu guards height and heightCh; lastHash is owned by the committer.
	hmu      sync.Mutex
	height   uint64
	heightCh chan struct{}
	lastHash []byte

	randMu sync.Mutex
}

// Open opens (creating on first use) the ledger in cfg.Dir and starts its
// committer. On first use it writes the genesis block (block 0) holding the
// channel ID and chaincode name; later it checks that they match cfg. The
// chaincode's Init is never called, as with Fabric 2 lifecycle chaincodes
// that do not require initialization.
func Open(cfg Config, cc shim.Chaincode) (*Ledger, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cc == nil {
		return nil, errors.New("embedded: Open: chaincode is nil")
	}
	cert, _ := parseCertPEM(cfg.OrdererCertPEM) // checked by Validate
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: create data directory: %w", err)
	}
	path := filepath.Join(cfg.Dir, "ledger.db")
	db, err := bolt.Open(path, 0o600, boltOptions())
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s (is another process using it?): %w", path, err)
	}
	l := &Ledger{
		cfg:           cfg,
		cc:            cc,
		db:            db,
		ordererCert:   cert,
		ordererPub:    cert.PublicKey.(*ecdsa.PublicKey),
		closedCh:      make(chan struct{}),
		kick:          make(chan struct{}, 1),
		committerDone: make(chan struct{}),
		heightCh:      make(chan struct{}),
	}
	if err := db.Update(l.initStore); err != nil {
		_ = db.Close()
		return nil, err
	}
	go l.runCommitter()
	return l, nil
}

// initStore creates the buckets and genesis block, or checks an existing
// store against the configuration, and loads height and last hash.
func (l *Ledger) initStore(tx *bolt.Tx) error {
	if meta := tx.Bucket(bucketMeta); meta != nil {
		if f := meta.Get(metaFormat); len(f) != 1 || f[0] != storeFormat {
			return fmt.Errorf("embedded: %s holds a ledger in format %x, which this version cannot read (it reads format %d only): remove the directory or use the version that wrote it", l.cfg.Dir, f, storeFormat)
		}
	}
	for _, name := range [][]byte{bucketState, bucketHistory, bucketBlocks, bucketTxs, bucketCreators, bucketTxIndex, bucketEvents, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("embedded: create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaChannel) == nil {
		data := [][]byte{encodeGenesis(l.cfg.ChannelID, l.cfg.ChaincodeName)}
		hdr := BlockHeader{Number: 0, DataHash: dataHash(data)}
		sig, err := l.sign(hdr)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketTxs).Put(entryKey(0, 0), data[0]); err != nil {
			return fmt.Errorf("embedded: store genesis block: %w", err)
		}
		rec := &blockRecord{Header: hdr, Entries: 1, Sig: sig}
		if err := tx.Bucket(bucketBlocks).Put(blockKey(0), encodeBlockRecord(rec)); err != nil {
			return fmt.Errorf("embedded: store genesis block: %w", err)
		}
		for k, v := range map[string][]byte{
			string(metaFormat):    {storeFormat},
			string(metaChannel):   []byte(l.cfg.ChannelID),
			string(metaChaincode): []byte(l.cfg.ChaincodeName),
			string(metaHeight):    binary.BigEndian.AppendUint64(nil, 1),
			string(metaLastHash):  headerHash(hdr),
		} {
			if err := meta.Put([]byte(k), v); err != nil {
				return fmt.Errorf("embedded: store metadata: %w", err)
			}
		}
	}
	if f := meta.Get(metaFormat); len(f) != 1 || f[0] != storeFormat {
		return fmt.Errorf("embedded: %s holds a ledger in format %x, which this version cannot read (it reads format %d only): remove the directory or use the version that wrote it", l.cfg.Dir, f, storeFormat)
	}
	if ch := string(meta.Get(metaChannel)); ch != l.cfg.ChannelID {
		return fmt.Errorf("embedded: ledger in %s belongs to channel %q, not Config.ChannelID %q", l.cfg.Dir, ch, l.cfg.ChannelID)
	}
	if cc := string(meta.Get(metaChaincode)); cc != l.cfg.ChaincodeName {
		return fmt.Errorf("embedded: ledger in %s belongs to chaincode %q, not Config.ChaincodeName %q", l.cfg.Dir, cc, l.cfg.ChaincodeName)
	}
	h := meta.Get(metaHeight)
	if len(h) != 8 {
		return fmt.Errorf("embedded: ledger height: %w", errCorrupt)
	}
	l.height = binary.BigEndian.Uint64(h)
	l.lastHash = bytes.Clone(meta.Get(metaLastHash))
	return nil
}

// boltOptions are the bbolt settings of the ledger file. The freelist is not
// written at each commit (bbolt rebuilds it by scanning the file on open),
// and is kept as a hash map, which allocates and frees page runs in constant
// time however fragmented the file is. NoSync stays false: every block is
// fsynced before its submitters are told.
func boltOptions() *bolt.Options {
	return &bolt.Options{
		Timeout:         openTimeout,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	}
}

// initialMmapSize is the initial mapping of the ledger file, so that a
// growing ledger does not remap (which waits for all readers) early on.
const initialMmapSize = 256 << 20

func blockKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// loadBlock reads block n from the store: its record and exactly the data
// entries it counts. It returns nil, nil when there is no block n.
func loadBlock(tx *bolt.Tx, n uint64) (*storedBlock, error) {
	raw := tx.Bucket(bucketBlocks).Get(blockKey(n))
	if raw == nil {
		return nil, nil
	}
	rec, err := decodeBlockRecord(raw)
	if err != nil {
		return nil, err
	}
	if rec.Entries > maxBlockEntries {
		return nil, fmt.Errorf("block %d claims %d data entries: %w", n, rec.Entries, errCorrupt)
	}
	sb := &storedBlock{Header: rec.Header, Codes: rec.Codes, Sig: rec.Sig, Data: make([][]byte, 0, rec.Entries)}
	c := tx.Bucket(bucketTxs).Cursor()
	creators := tx.Bucket(bucketCreators)
	for k, v := c.Seek(entryKey(n, 0)); k != nil; k, v = c.Next() {
		b, i, ok := splitEntryKey(k)
		if !ok || b != n {
			break
		}
		if i != uint64(len(sb.Data)) || i >= rec.Entries {
			return nil, fmt.Errorf("block %d: unexpected data entry %d: %w", n, i, errCorrupt)
		}
		entry, err := fullEntry(v, creators)
		if err != nil {
			return nil, fmt.Errorf("block %d: data entry %d: %w", n, i, err)
		}
		sb.Data = append(sb.Data, entry)
	}
	if uint64(len(sb.Data)) != rec.Entries {
		return nil, fmt.Errorf("block %d: data entry %d of %d is missing: %w", n, len(sb.Data), rec.Entries, errCorrupt)
	}
	return sb, nil
}

// maxBlockEntries bounds the entry count read from a block record.
const maxBlockEntries = 1 << 24

// sign produces the orderer signature of a block header.
func (l *Ledger) sign(hdr BlockHeader) (BlockSignature, error) {
	digest := sha256.Sum256(headerBytes(hdr))
	l.randMu.Lock()
	sig, err := l.cfg.OrdererSigner.Sign(l.cfg.Rand, digest[:], crypto.SHA256)
	l.randMu.Unlock()
	if err != nil {
		return BlockSignature{}, fmt.Errorf("embedded: sign block %d: %w", hdr.Number, err)
	}
	return BlockSignature{MSPID: l.cfg.OrdererMSPID, CertPEM: l.cfg.OrdererCertPEM, Signature: sig}, nil
}

// Close stops accepting transactions, lets the committer order and commit
// everything already queued, ends event subscriptions and closes the
// database. It is idempotent; later calls return the first result.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		l.qmu.Lock()
		l.closing = true
		l.qmu.Unlock()
		l.wake()
		<-l.committerDone

		l.lifeMu.Lock()
		l.closed = true
		close(l.closedCh)
		l.lifeMu.Unlock()

		if err := l.db.Close(); err != nil {
			l.closeErr = fmt.Errorf("embedded: close database: %w", err)
		}
	})
	return l.closeErr
}

// view runs fn in a read-only bbolt transaction, or returns ErrClosed.
func (l *Ledger) view(fn func(*bolt.Tx) error) error {
	l.lifeMu.RLock()
	defer l.lifeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.View(fn)
}

// Height returns the number of blocks, including the genesis block.
func (l *Ledger) Height() uint64 {
	l.hmu.Lock()
	defer l.hmu.Unlock()
	return l.height
}

// heightAndWait returns the height and a channel closed at the next commit.
func (l *Ledger) heightAndWait() (uint64, <-chan struct{}) {
	l.hmu.Lock()
	defer l.hmu.Unlock()
	return l.height, l.heightCh
}

// creatorBytes serializes id as Fabric's msp.SerializedIdentity.
func creatorBytes(id Identity) ([]byte, error) {
	if id.MSPID == "" {
		return nil, errors.New("embedded: identity has an empty MSP ID")
	}
	if len(id.CertPEM) == 0 {
		return nil, errors.New("embedded: identity has an empty certificate")
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&msp.SerializedIdentity{Mspid: id.MSPID, IdBytes: id.CertPEM})
	if err != nil {
		return nil, fmt.Errorf("embedded: serialize identity: %w", err)
	}
	return b, nil
}

// computeTxID is Fabric's rule: hex(SHA-256(nonce || creator)).
func computeTxID(nonce, creator []byte) string {
	h := sha256.New()
	h.Write(nonce)
	h.Write(creator)
	return hex.EncodeToString(h.Sum(nil))
}

// NewTxID returns a fresh transaction ID and its nonce for id, following
// Fabric's rule txID = hex(SHA-256(nonce || creator)) with a 24-byte random
// nonce. Passing both in a Proposal makes resubmission exactly-once.
func (l *Ledger) NewTxID(id Identity) (txID string, nonce []byte, err error) {
	creator, err := creatorBytes(id)
	if err != nil {
		return "", nil, err
	}
	nonce, err = l.newNonce()
	if err != nil {
		return "", nil, err
	}
	return computeTxID(nonce, creator), nonce, nil
}

func (l *Ledger) newNonce() ([]byte, error) {
	nonce := make([]byte, nonceSize)
	l.randMu.Lock()
	_, err := io.ReadFull(l.cfg.Rand, nonce)
	l.randMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("embedded: read nonce: %w", err)
	}
	return nonce, nil
}

// Evaluate simulates the proposal against committed state and returns the
// chaincode's response payload. Nothing is ordered or committed. A response
// status of 400 or more gives a *ChaincodeError.
func (l *Ledger) Evaluate(ctx context.Context, id Identity, p Proposal) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sim, err := l.simulate(id, p)
	if err != nil {
		return nil, err
	}
	return sim.tx.ResponsePayload, nil
}

// Submit simulates the proposal, orders the endorsed transaction, waits for
// the block holding it to be validated and committed, and returns the
// result. A chaincode response status of 400 or more gives a *ChaincodeError
// and nothing is ordered. A transaction ordered but invalidated gives a
// *CommitError (match it with errors.Is against ErrMVCCReadConflict,
// ErrPhantomReadConflict or ErrDuplicateTxID).
//
// If ctx ends after the transaction was queued for ordering but before its
// block committed, Submit returns ctx.Err() and the transaction may still
// commit: its status is unknown, as with a Fabric client that stops waiting.
// Use Transaction to find out, or resubmit with the same TxID and Nonce to
// get exactly-once behaviour.
func (l *Ledger) Submit(ctx context.Context, id Identity, p Proposal) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sim, err := l.simulate(id, p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pend := newPending(sim.tx)
	if err := l.enqueue(pend); err != nil {
		return nil, err
	}
	select {
	case out := <-pend.done:
		if out.err != nil {
			return nil, out.err
		}
		if out.status.Code != VALID {
			return nil, &CommitError{TxID: sim.tx.TxID, BlockNumber: out.status.BlockNumber, Code: out.status.Code}
		}
		res := &Result{TxID: sim.tx.TxID, BlockNumber: out.status.BlockNumber, Payload: sim.tx.ResponsePayload}
		if sim.tx.EventName != "" {
			res.Event = &ChaincodeEvent{BlockNumber: out.status.BlockNumber, TxID: sim.tx.TxID, Name: sim.tx.EventName, Payload: sim.tx.EventPayload}
		}
		return res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Transaction returns the status of a transaction ID: the block and position
// of its first occurrence and its validation code. It returns an error
// matching ErrNotFound for an unknown ID.
func (l *Ledger) Transaction(txID string) (TxStatus, error) {
	var st TxStatus
	err := l.view(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketTxIndex).Get([]byte(txID))
		if raw == nil || txID == "" {
			return fmt.Errorf("embedded: transaction %q: %w", txID, ErrNotFound)
		}
		var err error
		st, err = decodeTxIndex(raw)
		return err
	})
	return st, err
}

// Block returns stored block n, decoded. It returns an error matching
// ErrNotFound when n is not below Height.
func (l *Ledger) Block(n uint64) (*Block, error) {
	var sb *storedBlock
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		sb, err = loadBlock(tx, n)
		if err != nil {
			return fmt.Errorf("embedded: %w", err)
		}
		if sb == nil {
			return fmt.Errorf("embedded: block %d: %w", n, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return publicBlock(sb)
}

// publicBlock decodes the data entries of a stored block.
func publicBlock(sb *storedBlock) (*Block, error) {
	b := &Block{
		Header:    sb.Header,
		Data:      sb.Data,
		Signature: sb.Sig,
	}
	if sb.Header.Number == 0 {
		if len(sb.Data) != 1 {
			return nil, fmt.Errorf("embedded: genesis block has %d entries: %w", len(sb.Data), errCorrupt)
		}
		var err error
		b.ChannelID, b.ChaincodeName, err = decodeGenesis(sb.Data[0])
		if err != nil {
			return nil, fmt.Errorf("embedded: block 0: %w", err)
		}
		return b, nil
	}
	if len(sb.Codes) != len(sb.Data) {
		return nil, fmt.Errorf("embedded: block %d has %d validation codes for %d transactions: %w", sb.Header.Number, len(sb.Codes), len(sb.Data), errCorrupt)
	}
	b.Transactions = make([]Transaction, len(sb.Data))
	b.ValidationCodes = make([]ValidationCode, len(sb.Data))
	for i, d := range sb.Data {
		t, err := decodeTx(d)
		if err != nil {
			return nil, fmt.Errorf("embedded: block %d transaction %d: %w", sb.Header.Number, i, err)
		}
		b.Transactions[i] = *t
		b.ValidationCodes[i] = codeFromFabric(sb.Codes[i])
	}
	return b, nil
}

// verifyBatch is how many blocks VerifyChain checks per read transaction.
const verifyBatch = 64

// VerifyChain checks every block up to the current height: the block number
// sequence, each block's previous-hash link, its data hash, that it decodes,
// and the orderer signature, which must be made by the orderer configured
// now (Config.OrdererMSPID and Config.OrdererCertPEM). It also checks the
// stored last-block hash.
func (l *Ledger) VerifyChain(ctx context.Context) error {
	height := l.Height()
	var prev []byte
	for start := uint64(0); start < height; start += verifyBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+verifyBatch, height)
		err := l.view(func(tx *bolt.Tx) error {
			for n := start; n < end; n++ {
				sb, err := loadBlock(tx, n)
				if err != nil {
					return fmt.Errorf("embedded: verify: block %d: %w", n, err)
				}
				if sb == nil {
					return fmt.Errorf("embedded: verify: block %d is missing", n)
				}
				if err := l.verifyBlock(n, prev, sb); err != nil {
					return err
				}
				prev = headerHash(sb.Header)
			}
			if end == height {
				if last := tx.Bucket(bucketMeta).Get(metaLastHash); !bytes.Equal(last, prev) {
					return fmt.Errorf("embedded: verify: stored last-block hash %x does not match block %d hash %x", last, end-1, prev)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *Ledger) verifyBlock(n uint64, prev []byte, sb *storedBlock) error {
	h := sb.Header
	if h.Number != n {
		return fmt.Errorf("embedded: verify: block stored at %d has number %d", n, h.Number)
	}
	if !bytes.Equal(h.PreviousHash, prev) {
		return fmt.Errorf("embedded: verify: block %d previous hash %x does not match hash %x of block %d", n, h.PreviousHash, prev, n-1)
	}
	if got := dataHash(sb.Data); !bytes.Equal(got, h.DataHash) {
		return fmt.Errorf("embedded: verify: block %d data hash %x does not match its data (%x)", n, h.DataHash, got)
	}
	if _, err := publicBlock(sb); err != nil {
		return fmt.Errorf("embedded: verify: %w", err)
	}
	if n == 0 {
		ch, cc, _ := decodeGenesis(sb.Data[0])
		if ch != l.cfg.ChannelID || cc != l.cfg.ChaincodeName {
			return fmt.Errorf("embedded: verify: genesis block is for channel %q chaincode %q", ch, cc)
		}
	}
	if sb.Sig.MSPID != l.cfg.OrdererMSPID {
		return fmt.Errorf("embedded: verify: block %d signed by MSP %q, not the orderer %q", n, sb.Sig.MSPID, l.cfg.OrdererMSPID)
	}
	cert, err := parseCertPEM(sb.Sig.CertPEM)
	if err != nil || !cert.Equal(l.ordererCert) {
		return fmt.Errorf("embedded: verify: block %d is not signed with the configured orderer certificate", n)
	}
	digest := sha256.Sum256(headerBytes(h))
	if !ecdsa.VerifyASN1(l.ordererPub, digest[:], sb.Sig.Signature) {
		return fmt.Errorf("embedded: verify: block %d has an invalid orderer signature", n)
	}
	return nil
}
