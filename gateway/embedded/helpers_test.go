package embedded

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// testCA is a self-signed ECDSA P-256 identity generated for tests.
type testCA struct {
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newTestIdentity(t testing.TB, cn string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"MedProv Test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

var (
	ordererOnce sync.Once
	ordererID   testCA
	clientOnce  sync.Once
	clientID    testCA
)

func testOrderer(t testing.TB) testCA {
	ordererOnce.Do(func() { ordererID = newTestIdentity(t, "orderer") })
	return ordererID
}

func testClient(t testing.TB) Identity {
	clientOnce.Do(func() { clientID = newTestIdentity(t, "client") })
	return Identity{MSPID: "Org1MSP", CertPEM: clientID.certPEM}
}

func testConfig(t testing.TB, dir string) Config {
	o := testOrderer(t)
	return Config{
		Dir:            dir,
		OrdererMSPID:   "OrdererMSP",
		OrdererCertPEM: o.certPEM,
		OrdererSigner:  o.key,
	}
}

// openTest opens a ledger in dir (a fresh temp dir when empty) with the test
// chaincode and closes it at the end of the test.
func openTest(t testing.TB, dir string, cc *testCC, mod ...func(*Config)) *Ledger {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if cc == nil {
		cc = &testCC{}
	}
	cfg := testConfig(t, dir)
	for _, m := range mod {
		m(&cfg)
	}
	l, err := Open(cfg, cc)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func submit(t testing.TB, l *Ledger, fn string, args ...string) *Result {
	t.Helper()
	res, err := l.Submit(context.Background(), testClient(t), Proposal{Function: fn, Args: args})
	if err != nil {
		t.Fatalf("Submit %s %v: %v", fn, args, err)
	}
	return res
}

func evaluate(t testing.TB, l *Ledger, fn string, args ...string) []byte {
	t.Helper()
	out, err := l.Evaluate(context.Background(), testClient(t), Proposal{Function: fn, Args: args})
	if err != nil {
		t.Fatalf("Evaluate %s %v: %v", fn, args, err)
	}
	return out
}

// testCC is a small chaincode written directly against shim.Chaincode.
type testCC struct {
	mu   sync.Mutex
	hook func(fn string, args []string) // called mid-transaction by some functions
}

func (c *testCC) setHook(h func(fn string, args []string)) {
	c.mu.Lock()
	c.hook = h
	c.mu.Unlock()
}

func (c *testCC) pause(fn string, args []string) {
	c.mu.Lock()
	h := c.hook
	c.mu.Unlock()
	if h != nil {
		h(fn, args)
	}
}

type pageResult struct {
	Keys     []string
	Bookmark string
	Count    int32
}

type historyResult struct {
	TxID     string
	Value    string
	IsDelete bool
	Time     time.Time
}

type infoResult struct {
	TxID, Channel, Function string
	Params                  []string
	Creator, Binding        []byte
	Time1, Time2            time.Time
	Transient               map[string][]byte
	ReadOwnWrite            bool
	Decorations             int
	SignedProposalErr       string
}

func (c *testCC) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }

func (c *testCC) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	fn, args := stub.GetFunctionAndParameters()
	payload, err := c.invoke(stub, fn, args)
	var se *statusErr
	if errors.As(err, &se) {
		return &peer.Response{Status: se.status, Message: se.msg}
	}
	if err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success(payload)
}

func collect(it shim.StateQueryIteratorInterface) ([]string, error) {
	defer it.Close()
	var keys []string
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, err
		}
		keys = append(keys, kv.Key)
	}
	return keys, nil
}

func (c *testCC) invoke(stub shim.ChaincodeStubInterface, fn string, args []string) ([]byte, error) {
	switch fn {
	case "put":
		return nil, stub.PutState(args[0], []byte(args[1]))
	case "get":
		return stub.GetState(args[0])
	case "del":
		return nil, stub.DelState(args[0])
	case "putmany": // prefix count
		n, _ := strconv.Atoi(args[1])
		for i := 0; i < n; i++ {
			if err := stub.PutState(fmt.Sprintf("%s%03d", args[0], i), []byte("v")); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case "putcomposite": // objectType count
		n, _ := strconv.Atoi(args[1])
		for i := 0; i < n; i++ {
			k, err := stub.CreateCompositeKey(args[0], []string{fmt.Sprintf("%03d", i)})
			if err != nil {
				return nil, err
			}
			if err := stub.PutState(k, []byte("v")); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case "readwrite": // key value: read, pause, write
		if _, err := stub.GetState(args[0]); err != nil {
			return nil, err
		}
		c.pause(fn, args)
		return nil, stub.PutState(args[0], []byte(args[1]))
	case "range": // start end
		it, err := stub.GetStateByRange(args[0], args[1])
		if err != nil {
			return nil, err
		}
		keys, err := collect(it)
		return []byte(strings.Join(keys, ",")), err
	case "rangewrite": // start end key: range, pause, write
		it, err := stub.GetStateByRange(args[0], args[1])
		if err != nil {
			return nil, err
		}
		keys, err := collect(it)
		if err != nil {
			return nil, err
		}
		c.pause(fn, args)
		return nil, stub.PutState(args[2], []byte(strings.Join(keys, ",")))
	case "rangefirstwrite": // start end key: consume only the first result, pause, write
		it, err := stub.GetStateByRange(args[0], args[1])
		if err != nil {
			return nil, err
		}
		kv, err := it.Next()
		if err != nil {
			return nil, err
		}
		_ = it.Close()
		c.pause("rangewrite", args)
		return nil, stub.PutState(args[2], []byte(kv.Key))
	case "paged", "pagedcomposite": // start end size bookmark | objectType size bookmark
		var it shim.StateQueryIteratorInterface
		var md *peer.QueryResponseMetadata
		var err error
		if fn == "paged" {
			size, _ := strconv.Atoi(args[2])
			it, md, err = stub.GetStateByRangeWithPagination(args[0], args[1], int32(size), args[3])
		} else {
			size, _ := strconv.Atoi(args[1])
			it, md, err = stub.GetStateByPartialCompositeKeyWithPagination(args[0], nil, int32(size), args[2])
		}
		if err != nil {
			return nil, err
		}
		keys, err := collect(it)
		if err != nil {
			return nil, err
		}
		if fn == "pagedcomposite" {
			for i, k := range keys {
				_, attrs, err := stub.SplitCompositeKey(k)
				if err != nil {
					return nil, err
				}
				keys[i] = attrs[0]
			}
		}
		return json.Marshal(pageResult{Keys: keys, Bookmark: md.Bookmark, Count: md.FetchedRecordsCount})
	case "pagedput": // mode: "strict" returns the PutState error, "swallow" ignores it
		it, _, err := stub.GetStateByRangeWithPagination("", "", 10, "")
		if err != nil {
			return nil, err
		}
		_ = it.Close()
		err = stub.PutState("pp", []byte("v"))
		if args[0] == "swallow" {
			return nil, nil
		}
		return nil, err
	case "putpaged":
		if err := stub.PutState("pp", []byte("v")); err != nil {
			return nil, err
		}
		_, _, err := stub.GetStateByRangeWithPagination("", "", 10, "")
		if args[0] == "swallow" {
			return nil, nil
		}
		return nil, err
	case "history":
		it, err := stub.GetHistoryForKey(args[0])
		if err != nil {
			return nil, err
		}
		defer it.Close()
		var out []historyResult
		for it.HasNext() {
			m, err := it.Next()
			if err != nil {
				return nil, err
			}
			out = append(out, historyResult{TxID: m.TxId, Value: string(m.Value), IsDelete: m.IsDelete, Time: m.Timestamp.AsTime()})
		}
		return json.Marshal(out)
	case "event": // name payload
		if err := stub.SetEvent("overwritten", []byte("x")); err != nil {
			return nil, err
		}
		if err := stub.SetEvent(args[0], []byte(args[1])); err != nil {
			return nil, err
		}
		return nil, stub.PutState("ev/"+stub.GetTxID(), []byte(args[1]))
	case "fail":
		return nil, fmt.Errorf("%s", args[0])
	case "status": // status message
		code, _ := strconv.Atoi(args[0])
		return nil, &statusErr{int32(code), args[1]}
	case "panic":
		panic("boom")
	case "info":
		ts1, _ := stub.GetTxTimestamp()
		time.Sleep(2 * time.Millisecond)
		ts2, _ := stub.GetTxTimestamp()
		creator, _ := stub.GetCreator()
		binding, _ := stub.GetBinding()
		transient, _ := stub.GetTransient()
		if err := stub.PutState("own", []byte("write")); err != nil {
			return nil, err
		}
		own, _ := stub.GetState("own")
		_, spErr := stub.GetSignedProposal()
		f, p := stub.GetFunctionAndParameters()
		return json.Marshal(infoResult{
			TxID: stub.GetTxID(), Channel: stub.GetChannelID(), Function: f, Params: p,
			Creator: creator, Binding: binding, Time1: ts1.AsTime(), Time2: ts2.AsTime(),
			Transient: transient, ReadOwnWrite: own != nil, Decorations: len(stub.GetDecorations()),
			SignedProposalErr: fmt.Sprint(spErr),
		})
	}
	return nil, fmt.Errorf("unknown function %q", fn)
}

type statusErr struct {
	status int32
	msg    string
}

func (e *statusErr) Error() string { return e.msg }
