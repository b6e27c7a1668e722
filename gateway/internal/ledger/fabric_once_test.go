package ledger_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	domain "github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/gateway/internal/ledger"
)

// TestFabricResubmittedTransactionsCommitOnce sends each of 1,000
// RegisterPatient transactions once and then 0 to 3 more times, all copies
// of one transaction at the same moment from as many restored copies of
// its persisted form, as gateways that crashed and retried would. Every
// Commit must answer with the same committed transaction; the blocks must
// hold exactly one VALID envelope per transaction (1,000 in all), every
// other copy that reached the orderer marked DUPLICATE_TXID.
func TestFabricResubmittedTransactionsCommitOnce(t *testing.T) {
	const txs = 1000
	a := requireFabricNetwork(t, "HospitalAMSP")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	l := openFabric(t, a)
	defer l.Close()
	clinician := walletIdentity(t, a, "clinician")
	start, err := l.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Prepare (endorse) every transaction and keep its persisted form.
	persisted := make([][]byte, txs)
	ids := make([]string, txs)
	parallel(t, txs, 32, func(i int) error {
		key, _ := newFabricPatientKey(t)
		tx, err := l.Prepare(ctx, clinician, domain.TxRegisterPatient, key)
		if err != nil {
			return fmt.Errorf("prepare %d: %w", i, err)
		}
		ids[i] = tx.ID()
		persisted[i], err = tx.MarshalBinary()
		return err
	})

	// Send transaction i in 1 + i%4 copies at once; each copy is a
	// restored transaction, which looks itself up before sending, so
	// copies that find nothing yet all reach the orderer.
	results := make([][]*ledger.Committed, txs)
	copies := 0
	for i := range txs {
		results[i] = make([]*ledger.Committed, 1+i%4)
		copies += 1 + i%4
	}
	parallel(t, txs, 128, func(i int) error {
		var wg sync.WaitGroup
		errs := make([]error, len(results[i]))
		for c := range results[i] {
			wg.Go(func() {
				tx, err := ledger.RestoreTransaction(persisted[i])
				if err != nil {
					errs[c] = err
					return
				}
				results[i][c], errs[c] = l.Commit(ctx, tx)
			})
		}
		wg.Wait()
		for c, err := range errs {
			if err != nil {
				return fmt.Errorf("transaction %d, copy %d: %w", i, c, err)
			}
		}
		return nil
	})
	last := uint64(0)
	for i, rs := range results {
		for c, r := range rs {
			if r.TxID != ids[i] || r.Block != rs[0].Block {
				t.Errorf("transaction %d copy %d committed as %s in block %d, copy 0 as %s in block %d", i, c, r.TxID, r.Block, ids[i], rs[0].Block)
			}
			last = max(last, r.Block)
		}
	}

	// A copy whose Commit found the original already committed may still
	// be cut into a later block than any Commit reported. Every copy was
	// handed to the orderers before its Commit returned: a transaction
	// sent after all of them (and a second's pause, ten batch timeouts)
	// lands in a block after theirs, and the scan goes up to it.
	time.Sleep(time.Second)
	key, _ := newFabricPatientKey(t)
	sentinel, err := l.Submit(ctx, clinician, domain.TxRegisterPatient, key)
	if err != nil {
		t.Fatalf("sentinel transaction: %v", err)
	}
	last = max(last, sentinel.Block)
	valid, dup, other := scanBlocks(ctx, t, a, start, last)
	valid[sentinel.TxID]--
	for i, id := range ids {
		if n := valid[id]; n != 1 {
			t.Errorf("transaction %d (%s) is VALID %d times in blocks %d..%d, want once", i, id, n, start, last)
		}
	}
	total := 0
	for _, n := range valid {
		total += n
	}
	if total != txs {
		t.Errorf("%d VALID transactions in blocks %d..%d, want exactly %d", total, start, last, txs)
	}
	if len(other) > 0 {
		t.Errorf("other validation codes in blocks %d..%d: %v", start, last, other)
	}
	// Copies that looked themselves up after the first one committed were
	// never sent; the rest reached the peers as duplicates. With up to four
	// copies of 750 transactions started together, some always do, or the
	// test did not exercise the peers' duplicate check.
	if dup == 0 {
		t.Errorf("no DUPLICATE_TXID among %d copies of %d transactions: no copy reached the orderer twice", copies, txs)
	}
	t.Logf("%d transactions, %d copies sent at once: %d VALID, %d DUPLICATE_TXID, blocks %d..%d", txs, copies, total, dup, start, last)
}

// parallel runs fn(0..n-1) on workers goroutines and fails the test with
// the first error.
func parallel(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	next := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// scanBlocks reads blocks first..last of the channel from a's peer and
// counts, per transaction ID, the envelopes validated VALID, and in all
// those validated DUPLICATE_TXID; other codes are returned by name.
func scanBlocks(ctx context.Context, t *testing.T, a fabricOrgConfig, first, last uint64) (valid map[string]int, dup int, other map[string]int) {
	t.Helper()
	gw := rawGateway(t, a)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	blocks, err := gw.GetNetwork(a.Ledger.Fabric.Channel).BlockEvents(ctx, client.WithStartBlock(first))
	if err != nil {
		t.Fatal(err)
	}
	valid, other = map[string]int{}, map[string]int{}
	for b := range blocks {
		flags := b.GetMetadata().GetMetadata()[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
		for i, raw := range b.GetData().GetData() {
			if i >= len(flags) {
				t.Fatalf("block %d: %d envelopes, %d validation flags", b.GetHeader().GetNumber(), len(b.GetData().GetData()), len(flags))
			}
			code := peer.TxValidationCode(flags[i])
			switch code {
			case peer.TxValidationCode_VALID:
				valid[envelopeTxID(t, raw)]++
			case peer.TxValidationCode_DUPLICATE_TXID:
				dup++
			default:
				other[code.String()]++
			}
		}
		if b.GetHeader().GetNumber() >= last {
			return valid, dup, other
		}
	}
	t.Fatalf("block events ended before block %d: %v", last, ctx.Err())
	return nil, 0, nil
}

// envelopeTxID is the transaction ID in an envelope's channel header.
func envelopeTxID(t *testing.T, raw []byte) string {
	t.Helper()
	var env common.Envelope
	var payload common.Payload
	var ch common.ChannelHeader
	if err := proto.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &ch); err != nil {
		t.Fatal(err)
	}
	return ch.GetTxId()
}

// rawGateway is a fabric-gateway client of a's peer as a's gateway
// identity, for reading blocks.
func rawGateway(t *testing.T, a fabricOrgConfig) *client.Gateway {
	t.Helper()
	id := walletIdentity(t, a, "gateway")
	block, _ := pem.Decode(id.CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	xid, err := identity.NewX509Identity(id.MSPID, cert)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(id.Signer)
	if err != nil {
		t.Fatal(err)
	}
	conn := dialPeer(t, a)
	t.Cleanup(func() { _ = conn.Close() })
	gw, err := client.Connect(xid, client.WithSign(sign), client.WithClientConnection(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return gw
}
