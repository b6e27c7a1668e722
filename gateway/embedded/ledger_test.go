package embedded

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

func TestConfigValidate(t *testing.T) {
	good := testConfig(t, t.TempDir())
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := map[string]struct {
		mod       func(*Config)
		wantField string
	}{
		"a complete configuration is valid":            {mod: func(*Config) {}},
		"an empty directory is rejected":               {mod: func(c *Config) { c.Dir = "" }, wantField: "Config.Dir"},
		"an upper-case channel name is rejected":       {mod: func(c *Config) { c.ChannelID = "MedProv" }, wantField: "Config.ChannelID"},
		"a chaincode name with a space is rejected":    {mod: func(c *Config) { c.ChaincodeName = "med prov" }, wantField: "Config.ChaincodeName"},
		"a negative block size is rejected":            {mod: func(c *Config) { c.MaxBlockTxs = -1 }, wantField: "Config.MaxBlockTxs"},
		"an empty orderer MSP ID is rejected":          {mod: func(c *Config) { c.OrdererMSPID = "" }, wantField: "Config.OrdererMSPID"},
		"a missing orderer certificate is rejected":    {mod: func(c *Config) { c.OrdererCertPEM = nil }, wantField: "Config.OrdererCertPEM"},
		"garbage instead of a certificate is rejected": {mod: func(c *Config) { c.OrdererCertPEM = []byte("nope") }, wantField: "Config.OrdererCertPEM"},
		"a missing signer is rejected":                 {mod: func(c *Config) { c.OrdererSigner = nil }, wantField: "Config.OrdererSigner"},
		"a signer for another key is rejected":         {mod: func(c *Config) { c.OrdererSigner = other }, wantField: "Config.OrdererSigner"},
		"a P-384 signer is rejected":                   {mod: func(c *Config) { c.OrdererSigner = p384 }, wantField: "Config.OrdererSigner"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			err := cfg.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantField) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.wantField)
			}
		})
	}
}

func TestOpenRejectsAnotherChannelOrChaincode(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		mod  func(*Config)
		want string
	}{
		"another channel is refused":   {mod: func(c *Config) { c.ChannelID = "other" }, want: "channel"},
		"another chaincode is refused": {mod: func(c *Config) { c.ChaincodeName = "other" }, want: "chaincode"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, dir)
			tc.mod(&cfg)
			l, err := Open(cfg, &testCC{})
			if err == nil {
				_ = l.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open error %q does not mention %s", err, tc.want)
			}
		})
	}
}

func TestStubExposesProposalLikeFabric(t *testing.T) {
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 678900000, time.UTC)
	l := openTest(t, "", nil, func(c *Config) { c.Clock = func() time.Time { return fixed } })
	id := testClient(t)
	txID, nonce, err := l.NewTxID(id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.Evaluate(context.Background(), id, Proposal{
		Function: "info", Args: []string{"a", "b"}, Transient: map[string][]byte{"secret": []byte("s")},
		TxID: txID, Nonce: nonce,
	})
	if err != nil {
		t.Fatal(err)
	}
	var info infoResult
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	var sid msp.SerializedIdentity
	if err := proto.Unmarshal(info.Creator, &sid); err != nil {
		t.Fatalf("creator is not a SerializedIdentity: %v", err)
	}
	checks := map[string]struct{ ok bool }{
		"the transaction ID is the one proposed":          {info.TxID == txID},
		"the channel is the default channel":              {info.Channel == DefaultChannelID},
		"function and parameters are split":               {info.Function == "info" && strings.Join(info.Params, ",") == "a,b"},
		"the creator carries the MSP ID and certificate":  {sid.Mspid == id.MSPID && bytes.Equal(sid.IdBytes, id.CertPEM)},
		"the timestamp is the proposal time":              {info.Time1.Equal(fixed)},
		"the timestamp is stable across the transaction":  {info.Time1.Equal(info.Time2)},
		"transient data is visible to the chaincode":      {string(info.Transient["secret"]) == "s"},
		"a transaction does not read its own writes":      {!info.ReadOwnWrite},
		"decorations are empty":                           {info.Decorations == 0},
		"the binding is 32 bytes":                         {len(info.Binding) == 32},
		"GetSignedProposal says it is not supported":      {strings.Contains(info.SignedProposalErr, "not supported by the embedded ledger")},
		"the transaction ID follows Fabric's nonce rule":  {computeTxID(nonce, info.Creator) == txID},
		"evaluating leaves the ledger at the genesis one": {l.Height() == 1},
	}
	for name, c := range checks {
		t.Run(name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("failed; info = %+v", info)
			}
		})
	}
}

func TestTransientDataIsNotStored(t *testing.T) {
	l := openTest(t, "", nil)
	res, err := l.Submit(context.Background(), testClient(t), Proposal{
		Function: "put", Args: []string{"k", "v"}, Transient: map[string][]byte{"secret": []byte("TRANSIENT-SECRET")},
	})
	if err != nil {
		t.Fatal(err)
	}
	blk, err := l.Block(res.BlockNumber)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range blk.Data {
		if bytes.Contains(d, []byte("TRANSIENT-SECRET")) {
			t.Fatal("transient data found in the block")
		}
	}
}

func TestSubmitCommitsAndRecordsBlock(t *testing.T) {
	l := openTest(t, "", nil)
	res := submit(t, l, "put", "k", "v")
	if res.BlockNumber != 1 || l.Height() != 2 {
		t.Fatalf("block %d height %d, want block 1 height 2", res.BlockNumber, l.Height())
	}
	if got := evaluate(t, l, "get", "k"); string(got) != "v" {
		t.Fatalf("get = %q, want v", got)
	}
	st, err := l.Transaction(res.TxID)
	if err != nil || st != (TxStatus{BlockNumber: 1, TxNum: 0, Code: VALID}) {
		t.Fatalf("Transaction = %+v, %v", st, err)
	}
	blk, err := l.Block(1)
	if err != nil {
		t.Fatal(err)
	}
	tx := blk.Transactions[0]
	if tx.TxID != res.TxID || tx.Function != "put" || len(tx.Writes) != 1 || tx.Writes[0].Key != "k" || blk.ValidationCodes[0] != VALID {
		t.Fatalf("unexpected block content %+v", blk)
	}
	genesis, err := l.Block(0)
	if err != nil || genesis.ChannelID != DefaultChannelID || genesis.ChaincodeName != DefaultChaincodeName {
		t.Fatalf("genesis = %+v, %v", genesis, err)
	}
	if !bytes.Equal(blk.Header.PreviousHash, genesis.Hash()) {
		t.Fatal("block 1 does not link to the genesis block")
	}
	if _, err := l.Transaction("unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Transaction(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := l.Block(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Block(99) = %v, want ErrNotFound", err)
	}
	if err := l.VerifyChain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyValueDeletesLikeFabric(t *testing.T) {
	l := openTest(t, "", nil)
	submit(t, l, "put", "k", "v")
	res := submit(t, l, "put", "k", "")
	if got := evaluate(t, l, "get", "k"); got != nil {
		t.Fatalf("get after empty put = %q, want nil", got)
	}
	blk, _ := l.Block(res.BlockNumber)
	if w := blk.Transactions[0].Writes[0]; !w.IsDelete {
		t.Fatalf("write %+v is not a delete", w)
	}
}

func TestMVCCReadConflict(t *testing.T) {
	cc := &testCC{}
	l := openTest(t, "", cc)
	submit(t, l, "put", "counter", "0")
	var reached sync.WaitGroup
	reached.Add(2)
	cc.setHook(func(fn string, _ []string) {
		if fn == "readwrite" {
			reached.Done()
			reached.Wait() // both have read the same version
		}
	})
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := l.Submit(context.Background(), testClient(t), Proposal{Function: "readwrite", Args: []string{"counter", fmt.Sprint(i + 1)}})
			errs <- err
		}()
	}
	var valid, conflicts int
	for range 2 {
		err := <-errs
		var ce *CommitError
		switch {
		case err == nil:
			valid++
		case errors.Is(err, ErrMVCCReadConflict) && errors.As(err, &ce) && ce.Code == MVCC_READ_CONFLICT:
			conflicts++
			if st, _ := l.Transaction(ce.TxID); st.Code != MVCC_READ_CONFLICT {
				t.Errorf("stored status %+v, want MVCC_READ_CONFLICT", st)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if valid != 1 || conflicts != 1 {
		t.Fatalf("valid=%d conflicts=%d, want 1 and 1", valid, conflicts)
	}
}

func TestPhantomReadConflict(t *testing.T) {
	tests := map[string]struct {
		reader  string
		fn      string
		args    []string
		wantErr error
	}{
		"a key inserted before the first consumed key invalidates a partial reader":       {reader: "rangefirstwrite", fn: "put", args: []string{"p/0", "new"}, wantErr: ErrPhantomReadConflict},
		"a key inserted after the last consumed key does not invalidate a partial reader": {reader: "rangefirstwrite", fn: "put", args: []string{"p/b", "new"}},
		"a key inserted into the range invalidates the reader":                            {fn: "put", args: []string{"p/b", "new"}, wantErr: ErrPhantomReadConflict},
		"a key deleted from the range invalidates the reader":                             {fn: "del", args: []string{"p/a"}, wantErr: ErrPhantomReadConflict},
		"a key updated in the range invalidates the reader":                               {fn: "put", args: []string{"p/c", "changed"}, wantErr: ErrPhantomReadConflict},
		"a key written outside the range does not":                                        {fn: "put", args: []string{"q/x", "v"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cc := &testCC{}
			l := openTest(t, "", cc)
			submit(t, l, "put", "p/a", "1")
			submit(t, l, "put", "p/c", "3")
			reached, release := make(chan struct{}), make(chan struct{})
			cc.setHook(func(fn string, _ []string) {
				if fn == "rangewrite" {
					close(reached)
					<-release
				}
			})
			errc := make(chan error, 1)
			go func() {
				reader := tc.reader
				if reader == "" {
					reader = "rangewrite"
				}
				_, err := l.Submit(context.Background(), testClient(t), Proposal{Function: reader, Args: []string{"p/", "p0", "summary"}})
				errc <- err
			}()
			<-reached
			cc.setHook(nil)
			submit(t, l, tc.fn, tc.args...)
			close(release)
			err := <-errc
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Submit = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Submit = %v, want %v", err, tc.wantErr)
			}
			if got := evaluate(t, l, "get", "summary"); got != nil {
				t.Fatalf("invalid transaction changed state: summary = %q", got)
			}
		})
	}
}

func TestRangeQueries(t *testing.T) {
	l := openTest(t, "", nil)
	submit(t, l, "putmany", "r", "5")
	submit(t, l, "putcomposite", "asset", "3")
	tests := map[string]struct {
		start, end string
		want       string
	}{
		"a bounded range excludes the end key":          {start: "r001", end: "r003", want: "r001,r002"},
		"an empty end key is unbounded":                 {start: "r003", end: "", want: "r003,r004"},
		"an empty start key skips composite keys":       {start: "", end: "r002", want: "r000,r001"},
		"an empty range returns nothing":                {start: "x", end: "y", want: ""},
		"a full scan returns only simple keys in order": {start: "", end: "", want: "r000,r001,r002,r003,r004"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := string(evaluate(t, l, "range", tc.start, tc.end)); got != tc.want {
				t.Fatalf("range(%q,%q) = %q, want %q", tc.start, tc.end, got, tc.want)
			}
		})
	}
	t.Run("a start key in the composite namespace is rejected", func(t *testing.T) {
		_, err := l.Evaluate(context.Background(), testClient(t), Proposal{Function: "range", Args: []string{"\x00a", ""}})
		var ce *ChaincodeError
		if !errors.As(err, &ce) || !strings.Contains(ce.Message, "null character") {
			t.Fatalf("err = %v, want a chaincode error about the null character", err)
		}
	})
}

func TestPagination(t *testing.T) {
	l := openTest(t, "", nil)
	submit(t, l, "putmany", "k", "250")
	submit(t, l, "putmany", "f", "200")
	submit(t, l, "putcomposite", "asset", "250")
	type page struct {
		count    int32
		first    string
		last     string
		bookmark string
	}
	tests := map[string]struct {
		query func(bookmark string) []string
		pages []page
	}{
		"250 keys in pages of 100 give 100, 100 and 50 with next-key bookmarks": {
			query: func(b string) []string { return []string{"paged", "k", "l", "100", b} },
			pages: []page{{100, "k000", "k099", "k100"}, {100, "k100", "k199", "k200"}, {50, "k200", "k249", ""}},
		},
		"a last page that is exactly full has an empty bookmark": {
			query: func(b string) []string { return []string{"paged", "f", "g", "100", b} },
			pages: []page{{100, "f000", "f099", "f100"}, {100, "f100", "f199", ""}},
		},
		"partial composite keys paginate the same way": {
			query: func(b string) []string { return []string{"pagedcomposite", "asset", "100", b} },
			pages: []page{{100, "000", "099", "\x00asset\x00100\x00"}, {100, "100", "199", "\x00asset\x00200\x00"}, {50, "200", "249", ""}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bookmark := ""
			for i, want := range tc.pages {
				q := tc.query(bookmark)
				var got pageResult
				if err := json.Unmarshal(evaluate(t, l, q[0], q[1:]...), &got); err != nil {
					t.Fatal(err)
				}
				if got.Count != want.count || int32(len(got.Keys)) != want.count || got.Keys[0] != want.first ||
					got.Keys[len(got.Keys)-1] != want.last || got.Bookmark != want.bookmark {
					t.Fatalf("page %d: count=%d keys=%d first=%q last=%q bookmark=%q; want %+v",
						i, got.Count, len(got.Keys), got.Keys[0], got.Keys[len(got.Keys)-1], got.Bookmark, want)
				}
				bookmark = got.Bookmark
			}
		})
	}
}

func TestPaginatedQueryWithWritesIsRejected(t *testing.T) {
	tests := map[string]struct {
		fn, mode string
	}{
		"a write after a paginated query fails":                 {fn: "pagedput", mode: "strict"},
		"a paginated query after a write fails":                 {fn: "putpaged", mode: "strict"},
		"a chaincode ignoring the write error is still refused": {fn: "pagedput", mode: "swallow"},
		"a chaincode ignoring the query error is still refused": {fn: "putpaged", mode: "swallow"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := openTest(t, "", nil)
			_, err := l.Submit(context.Background(), testClient(t), Proposal{Function: tc.fn, Args: []string{tc.mode}})
			var ce *ChaincodeError
			if !errors.Is(err, ErrPaginatedQueryWithWrites) && !(errors.As(err, &ce) && strings.Contains(ce.Message, "read-only transaction")) {
				t.Fatalf("Submit = %v, want a paginated-query-with-writes error", err)
			}
			if l.Height() != 1 {
				t.Fatalf("height %d, want 1: something was committed", l.Height())
			}
		})
	}
}

func TestHistoryNewestFirst(t *testing.T) {
	var tick atomic.Int64
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	l := openTest(t, "", nil, func(c *Config) {
		c.Clock = func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) }
	})
	r1 := submit(t, l, "put", "h", "v1")
	r2 := submit(t, l, "put", "h", "v2")
	r3 := submit(t, l, "del", "h")
	r4 := submit(t, l, "put", "h", "v3")
	submit(t, l, "put", "h2", "other key")
	var got []historyResult
	if err := json.Unmarshal(evaluate(t, l, "history", "h"), &got); err != nil {
		t.Fatal(err)
	}
	want := []historyResult{
		{TxID: r4.TxID, Value: "v3", Time: base.Add(4 * time.Second)},
		{TxID: r3.TxID, IsDelete: true, Time: base.Add(3 * time.Second)},
		{TxID: r2.TxID, Value: "v2", Time: base.Add(2 * time.Second)},
		{TxID: r1.TxID, Value: "v1", Time: base.Add(1 * time.Second)},
	}
	if len(got) != len(want) {
		t.Fatalf("history has %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].TxID != want[i].TxID || got[i].Value != want[i].Value || got[i].IsDelete != want[i].IsDelete || !got[i].Time.Equal(want[i].Time) {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := json.Unmarshal(evaluate(t, l, "history", "never"), &got); err != nil || len(got) != 0 {
		t.Fatalf("history of an unknown key = %+v, %v", got, err)
	}
}

func TestChaincodeErrorCommitsNothing(t *testing.T) {
	tests := map[string]struct {
		fn         string
		args       []string
		wantStatus int32
		wantMsg    string
	}{
		"an error response gives status 500":       {fn: "fail", args: []string{"bad input"}, wantStatus: 500, wantMsg: "bad input"},
		"a custom status of 404 is kept":           {fn: "status", args: []string{"404", "no such asset"}, wantStatus: 404, wantMsg: "no such asset"},
		"a panic becomes a status 500 error":       {fn: "panic", wantStatus: 500, wantMsg: "chaincode panicked: boom"},
		"an unknown function is a chaincode error": {fn: "nope", wantStatus: 500, wantMsg: "unknown function"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := openTest(t, "", nil)
			_, err := l.Submit(context.Background(), testClient(t), Proposal{Function: tc.fn, Args: tc.args})
			var ce *ChaincodeError
			if !errors.As(err, &ce) || ce.Status != tc.wantStatus || !strings.Contains(ce.Message, tc.wantMsg) {
				t.Fatalf("Submit = %v, want ChaincodeError %d %q", err, tc.wantStatus, tc.wantMsg)
			}
			if l.Height() != 1 {
				t.Fatalf("height = %d, want 1", l.Height())
			}
		})
	}
}

func TestDuplicateTxID(t *testing.T) {
	t.Run("resubmitting a committed transaction ID is DUPLICATE_TXID and the original stays VALID", func(t *testing.T) {
		l := openTest(t, "", nil)
		id := testClient(t)
		txID, nonce, err := l.NewTxID(id)
		if err != nil {
			t.Fatal(err)
		}
		p := Proposal{Function: "put", Args: []string{"once", "1"}, TxID: txID, Nonce: nonce}
		first, err := l.Submit(context.Background(), id, p)
		if err != nil {
			t.Fatal(err)
		}
		p.Args = []string{"once", "2"}
		_, err = l.Submit(context.Background(), id, p)
		var ce *CommitError
		if !errors.Is(err, ErrDuplicateTxID) || !errors.As(err, &ce) || ce.TxID != txID {
			t.Fatalf("resubmit = %v, want DUPLICATE_TXID", err)
		}
		st, err := l.Transaction(txID)
		if err != nil || st.Code != VALID || st.BlockNumber != first.BlockNumber {
			t.Fatalf("Transaction = %+v, %v; want VALID in block %d", st, err, first.BlockNumber)
		}
		if got := evaluate(t, l, "get", "once"); string(got) != "1" {
			t.Fatalf("value = %q, want 1", got)
		}
		blk, _ := l.Block(ce.BlockNumber)
		if blk.ValidationCodes[0] != DUPLICATE_TXID {
			t.Fatalf("stored code %s, want DUPLICATE_TXID", blk.ValidationCodes[0])
		}
	})
	t.Run("two concurrent copies give one VALID and one DUPLICATE_TXID", func(t *testing.T) {
		l := openTest(t, "", nil)
		id := testClient(t)
		txID, nonce, _ := l.NewTxID(id)
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := l.Submit(context.Background(), id, Proposal{Function: "put", Args: []string{"k", "v"}, TxID: txID, Nonce: nonce})
				errs <- err
			}()
		}
		e1, e2 := <-errs, <-errs
		if (e1 == nil) == (e2 == nil) || !(errors.Is(e1, ErrDuplicateTxID) || errors.Is(e2, ErrDuplicateTxID)) {
			t.Fatalf("errors %v and %v, want exactly one DUPLICATE_TXID", e1, e2)
		}
	})
	t.Run("a transaction ID that does not match the nonce is refused", func(t *testing.T) {
		l := openTest(t, "", nil)
		id := testClient(t)
		txID, _, _ := l.NewTxID(id)
		_, otherNonce, _ := l.NewTxID(id)
		_, err := l.Submit(context.Background(), id, Proposal{Function: "put", Args: []string{"k", "v"}, TxID: txID, Nonce: otherNonce})
		if err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("Submit = %v, want a mismatch error", err)
		}
		if l.Height() != 1 {
			t.Fatal("something was committed")
		}
	})
}

func TestEventsAfterCommitAndReplay(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live, err := l.Events(ctx, l.Height())
	if err != nil {
		t.Fatal(err)
	}
	r1 := submit(t, l, "event", "created", "p1")
	// An invalid duplicate of an event transaction delivers nothing.
	id := testClient(t)
	txID, nonce, _ := l.NewTxID(id)
	r2, err := l.Submit(ctx, id, Proposal{Function: "event", Args: []string{"updated", "p2"}, TxID: txID, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Submit(ctx, id, Proposal{Function: "event", Args: []string{"dup", "p3"}, TxID: txID, Nonce: nonce}); !errors.Is(err, ErrDuplicateTxID) {
		t.Fatalf("duplicate = %v", err)
	}
	r4 := submit(t, l, "event", "deleted", "p4")
	want := []ChaincodeEvent{
		{BlockNumber: r1.BlockNumber, TxID: r1.TxID, Name: "created", Payload: []byte("p1")},
		{BlockNumber: r2.BlockNumber, TxID: r2.TxID, Name: "updated", Payload: []byte("p2")},
		{BlockNumber: r4.BlockNumber, TxID: r4.TxID, Name: "deleted", Payload: []byte("p4")},
	}
	if r1.Event == nil || r1.Event.Name != "created" || r1.Event.BlockNumber != r1.BlockNumber {
		t.Fatalf("Result.Event = %+v", r1.Event)
	}
	expectEvents(t, live, want)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-live; ok {
		t.Fatal("event channel still open after Close")
	}

	l2 := openTest(t, dir, nil)
	replay, err := l2.Events(ctx, r2.BlockNumber)
	if err != nil {
		t.Fatal(err)
	}
	expectEvents(t, replay, want[1:])
	r5 := submit(t, l2, "event", "after-reopen", "p5")
	expectEvents(t, replay, []ChaincodeEvent{{BlockNumber: r5.BlockNumber, TxID: r5.TxID, Name: "after-reopen", Payload: []byte("p5")}})
	cancel()
	for range replay { // drains and ends once ctx is cancelled
	}
}

func expectEvents(t *testing.T, ch <-chan ChaincodeEvent, want []ChaincodeEvent) {
	t.Helper()
	for i, w := range want {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed before event %d", i)
			}
			if got.BlockNumber != w.BlockNumber || got.TxID != w.TxID || got.Name != w.Name || !bytes.Equal(got.Payload, w.Payload) {
				t.Fatalf("event %d = %+v, want %+v", i, got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for event %d", i)
		}
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, nil)
	var results []*Result
	for i := range 5 {
		results = append(results, submit(t, l, "put", fmt.Sprintf("key%d", i), fmt.Sprintf("value%d", i)))
	}
	height := l.Height()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := l.Submit(context.Background(), testClient(t), Proposal{Function: "put", Args: []string{"x", "y"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v, want ErrClosed", err)
	}
	if _, err := l.Evaluate(context.Background(), testClient(t), Proposal{Function: "get", Args: []string{"x"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Evaluate after Close = %v, want ErrClosed", err)
	}

	l2 := openTest(t, dir, nil)
	if l2.Height() != height {
		t.Fatalf("height after reopen %d, want %d", l2.Height(), height)
	}
	for i, r := range results {
		if got := evaluate(t, l2, "get", fmt.Sprintf("key%d", i)); string(got) != fmt.Sprintf("value%d", i) {
			t.Errorf("key%d = %q", i, got)
		}
		if st, err := l2.Transaction(r.TxID); err != nil || st.Code != VALID || st.BlockNumber != r.BlockNumber {
			t.Errorf("Transaction(%s) = %+v, %v", r.TxID, st, err)
		}
	}
	if err := l2.VerifyChain(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := submit(t, l2, "put", "after", "restart")
	if next.BlockNumber != height {
		t.Fatalf("next block %d, want %d", next.BlockNumber, height)
	}
	if err := l2.VerifyChain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyChainDetectsTampering(t *testing.T) {
	tests := map[string]struct {
		tamper  func(t *testing.T, tx *bolt.Tx)
		wantErr string
	}{
		"a flipped byte in a transaction breaks the data hash": {
			tamper: func(t *testing.T, tx *bolt.Tx) {
				txs := tx.Bucket(bucketTxs)
				raw := bytes.Clone(txs.Get(entryKey(2, 0)))
				i := bytes.Index(raw, []byte("tamper-me"))
				if i < 0 {
					t.Fatal("value not found in block 2")
				}
				raw[i] ^= 0x01
				if err := txs.Put(entryKey(2, 0), raw); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "data hash",
		},
		"a missing transaction is detected": {
			tamper: func(t *testing.T, tx *bolt.Tx) {
				if err := tx.Bucket(bucketTxs).Delete(entryKey(2, 0)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "missing",
		},
		"an added transaction is detected": {
			tamper: func(t *testing.T, tx *bolt.Tx) {
				txs := tx.Bucket(bucketTxs)
				if err := txs.Put(entryKey(2, 1), txs.Get(entryKey(3, 0))); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "unexpected data entry",
		},
		"a flipped byte in the signature is detected": {
			tamper: func(t *testing.T, tx *bolt.Tx) {
				blocks := tx.Bucket(bucketBlocks)
				raw := bytes.Clone(blocks.Get(blockKey(1)))
				raw[len(raw)-5] ^= 0x01
				if err := blocks.Put(blockKey(1), raw); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "signature",
		},
		"a rewritten previous hash breaks the chain": {
			tamper: func(t *testing.T, tx *bolt.Tx) {
				blocks := tx.Bucket(bucketBlocks)
				rec, err := decodeBlockRecord(blocks.Get(blockKey(3)))
				if err != nil {
					t.Fatal(err)
				}
				rec.Header.PreviousHash = bytes.Repeat([]byte{7}, 32)
				if err := blocks.Put(blockKey(3), encodeBlockRecord(rec)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "previous hash",
		},
		"a missing block is detected": {
			tamper: func(t *testing.T, tx *bolt.Tx) {
				if err := tx.Bucket(bucketBlocks).Delete(blockKey(2)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "missing",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, nil)
			submit(t, l, "put", "a", "1")
			submit(t, l, "put", "b", "tamper-me")
			submit(t, l, "put", "c", "3")
			if err := l.VerifyChain(context.Background()); err != nil {
				t.Fatalf("untampered chain: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := bolt.Open(dir+"/ledger.db", 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { tc.tamper(t, tx); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			l2 := openTest(t, dir, nil)
			err = l2.VerifyChain(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("VerifyChain = %v, want an error about %s", err, tc.wantErr)
			}
		})
	}
}

func TestGroupCommit(t *testing.T) {
	l := openTest(t, "", nil)
	const goroutines, perGoroutine = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine)
	start := l.Height()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perGoroutine {
				if _, err := l.Submit(context.Background(), testClient(t), Proposal{Function: "put", Args: []string{fmt.Sprintf("g%02d-%02d", g, i), "v"}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	txs := goroutines * perGoroutine
	blocks := int(l.Height() - start)
	t.Logf("%d transactions in %d blocks (%.1f per block)", txs, blocks, float64(txs)/float64(blocks))
	if blocks*2 > txs {
		t.Fatalf("%d blocks for %d transactions: no group commit", blocks, txs)
	}
	if got := evaluate(t, l, "range", "g", "h"); strings.Count(string(got), ",")+1 != txs {
		t.Fatalf("range found %d keys, want %d", strings.Count(string(got), ",")+1, txs)
	}
	if err := l.VerifyChain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestMaxBlockTxsBoundsBlocks(t *testing.T) {
	l := openTest(t, "", nil, func(c *Config) { c.MaxBlockTxs = 3 })
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			submit(t, l, "put", fmt.Sprint("m", i), "v")
		}()
	}
	wg.Wait()
	for n := uint64(1); n < l.Height(); n++ {
		blk, err := l.Block(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(blk.Transactions) > 3 || len(blk.Transactions) == 0 {
			t.Fatalf("block %d has %d transactions", n, len(blk.Transactions))
		}
	}
}

func TestSubmitContextCancelled(t *testing.T) {
	cc := &testCC{}
	l := openTest(t, "", cc)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Submit(ctx, testClient(t), Proposal{Function: "put", Args: []string{"k", "v"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit = %v, want context.Canceled", err)
	}
	if l.Height() != 1 {
		t.Fatal("a cancelled submit was committed")
	}
}

func TestUnsupportedStubCalls(t *testing.T) {
	s := &stub{l: &Ledger{}}
	tests := map[string]func() error{
		"private data reads":     func() error { _, err := s.GetPrivateData("c", "k"); return err },
		"private data writes":    func() error { return s.PutPrivateData("c", "k", []byte("v")) },
		"rich queries":           func() error { _, err := s.GetQueryResult("{}"); return err },
		"key-level endorsement":  func() error { return s.SetStateValidationParameter("k", nil) },
		"signed proposals":       func() error { _, err := s.GetSignedProposal(); return err },
		"chaincode-to-chaincode": func() error { return errors.New(s.InvokeChaincode("other", nil, "").Message) },
	}
	for name, call := range tests {
		t.Run(name+" say they are not supported", func(t *testing.T) {
			if err := call(); err == nil || !strings.Contains(err.Error(), "not supported by the embedded ledger") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestCloseFlushesQueuedWork(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, nil)
	const n = 64
	type outcome struct {
		res *Result
		err error
	}
	results := make(chan outcome, n)
	var started sync.WaitGroup
	for i := range n {
		started.Add(1)
		go func() {
			started.Done()
			res, err := l.Submit(context.Background(), testClient(t), Proposal{Function: "put", Args: []string{fmt.Sprint("flush", i), "v"}})
			results <- outcome{res, err}
		}()
	}
	started.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var committed []*Result
	for range n {
		o := <-results
		switch {
		case o.err == nil:
			committed = append(committed, o.res)
		case errors.Is(o.err, ErrClosed):
		default:
			t.Fatalf("Submit = %v, want success or ErrClosed", o.err)
		}
	}
	l2 := openTest(t, dir, nil)
	for _, r := range committed {
		if st, err := l2.Transaction(r.TxID); err != nil || st.Code != VALID {
			t.Fatalf("acknowledged %s not found after Close: %+v, %v", r.TxID, st, err)
		}
	}
	t.Logf("%d of %d submits committed before Close", len(committed), n)
}

func TestOpenRefusesOtherFormat(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, nil)
	submit(t, l, "put", "a", "1")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(dir+"/ledger.db", 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaFormat, []byte{1}) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(testConfig(t, dir), &testCC{})
	if err == nil || !strings.Contains(err.Error(), "format 01") {
		t.Fatalf("Open of a format-1 ledger = %v, want an error about its format", err)
	}
}
