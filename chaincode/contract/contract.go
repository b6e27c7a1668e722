// Package contract is medprov's chaincode: its exported methods on Contract
// are the on-chain API. Each method is thin: decode and validate the
// arguments, decide with package ledger, store with package state, emit one
// event.
//
// It must not read a clock, draw randomness, iterate maps into outputs, or
// log: every endorsing peer must compute the same result from the same
// inputs. Time is the transaction timestamp.
package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/medprov/medprov/chaincode/ledger"
	"github.com/medprov/medprov/chaincode/state"
)

// Name is the contract's name in the chaincode metadata.
const Name = "medprov"

// Certificate attributes medprov reads, as Fabric CA encodes them.
const (
	AttrRole      = "medprov.role"
	AttrClearance = "medprov.clearance"
)

// Contract is the medprov smart contract.
type Contract struct {
	contractapi.Contract
}

// Context is the transaction context: the stub, plus the caller and time,
// read once before the transaction runs.
type Context struct {
	contractapi.TransactionContext
	caller ledger.Caller
	now    time.Time
}

// newContract builds the contract with its hooks.
func newContract() *Contract {
	c := &Contract{}
	c.Name = Name
	c.Info.Title = "medprov medical-record provenance"
	c.Info.Version = "1.0.0"
	c.TransactionContextHandler = new(Context)
	c.BeforeTransaction = before
	return c
}

// before reads the caller's MSP ID, role, clearance and certificate
// fingerprint, and the transaction time. A caller without a valid
// medprov.role attribute may call nothing; a missing clearance is the
// lowest, U.
func before(ctx *Context) error {
	id := ctx.GetClientIdentity()
	msp, err := id.GetMSPID()
	if err != nil {
		return ledger.PermissionDenied("cannot read the caller's MSP ID")
	}
	cert, err := id.GetX509Certificate()
	if err != nil || cert == nil {
		return ledger.PermissionDenied("the caller's identity is not an X.509 certificate")
	}
	role, found, err := id.GetAttributeValue(AttrRole)
	if err != nil || !found {
		return ledger.PermissionDenied("the caller's certificate has no %s attribute", AttrRole)
	}
	r, err := ledger.ParseRole("caller attribute "+AttrRole, role)
	if err != nil {
		return ledger.PermissionDenied("%s", err.(*ledger.Error).Message)
	}
	clearance := ledger.ConfUnrestricted
	if v, found, err := id.GetAttributeValue(AttrClearance); err == nil && found {
		if clearance, err = ledger.ParseConfidentiality("caller attribute "+AttrClearance, v); err != nil {
			return ledger.PermissionDenied("%s", err.(*ledger.Error).Message)
		}
	}
	ts, err := ctx.GetStub().GetTxTimestamp()
	if err != nil {
		return ledger.Internal("read transaction time", err)
	}
	fp := sha256.Sum256(cert.Raw)
	ctx.caller = ledger.Caller{MSPID: msp, Role: r, Clearance: clearance, CertFingerprint: hex.EncodeToString(fp[:])}
	ctx.now = ts.AsTime().UTC()
	return nil
}

func (ctx *Context) store() *state.Store { return state.New(ctx.GetStub()) }

func (ctx *Context) txID() string { return ctx.GetStub().GetTxID() }

// authorize checks the caller's role against the transaction's policy.
func (ctx *Context) authorize(tx string) error { return ctx.caller.Authorize(tx) }

// request is an argument object with its own validation.
type request interface{ Validate() error }

// decodeRequest authorizes tx, then decodes its JSON argument strictly into
// a T and validates it.
func decodeRequest[T request](ctx *Context, tx, arg, s string) (T, error) {
	var req T
	if err := ctx.authorize(tx); err != nil {
		return req, err
	}
	if err := ledger.DecodeStrict(arg, s, &req); err != nil {
		return req, err
	}
	return req, req.Validate()
}

// listArgs authorizes tx and validates a list call's key, page size and
// bookmark, returning the page size.
func (ctx *Context) listArgs(tx, keyArg, key string, check func(arg, s string) error, pageSize, bookmark string) (int32, error) {
	if err := ctx.authorize(tx); err != nil {
		return 0, err
	}
	if err := check(keyArg, key); err != nil {
		return 0, err
	}
	size, err := ledger.ParsePageSize("pageSize", pageSize)
	if err != nil {
		return 0, err
	}
	return size, ledger.CheckBookmark("bookmark", bookmark)
}

// output renders a result as JSON. Every method returns JSON text, so that
// the wire format is ours and not the contract API's reflection.
func output(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", ledger.Internal("encode result", err)
	}
	return string(b), nil
}

// GetEvaluateTransactions lists the read-only transactions, which clients
// evaluate on one peer instead of submitting for ordering.
func (c *Contract) GetEvaluateTransactions() []string {
	var out []string
	for _, s := range Signatures {
		if s.ReadOnly {
			out = append(out, s.Name)
		}
	}
	return out
}
