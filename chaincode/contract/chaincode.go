package contract

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/medprov/medprov/chaincode/ledger"
)

// Chaincode is the medprov chaincode as a peer runs it: the contract API's
// dispatcher behind a front door that rejects unknown transactions and wrong
// argument counts with medprov errors, and renders every other failure as
// "CODE: message".
type Chaincode struct {
	inner *contractapi.ContractChaincode
	args  map[string][]string
}

// New builds the chaincode: the medprov contract, the default one, whose
// transactions are called by their bare names, and the Baseline contract,
// called as "Baseline:Put". Errors: the contract API's, when a contract
// does not build.
func New() (*Chaincode, error) {
	inner, err := contractapi.NewChaincode(newContract(), newBaseline())
	if err != nil {
		return nil, fmt.Errorf("build contract: %w", err)
	}
	inner.TransactionSerializer = stringSerializer{}
	args := make(map[string][]string, len(Signatures)+len(BaselineSignatures))
	for _, s := range append(slices.Clone(Signatures), BaselineSignatures...) {
		args[s.Name] = s.Args
	}
	return &Chaincode{inner: inner, args: args}, nil
}

// metadataTx is the contract API's own transaction that returns the
// chaincode metadata; it is passed through.
const metadataTx = "org.hyperledger.fabric:GetMetadata"

// Init runs at instantiation; medprov needs no initialisation.
func (c *Chaincode) Init(stub shim.ChaincodeStubInterface) *peer.Response {
	return shim.Success(nil)
}

// Invoke checks the transaction name and argument count, then dispatches.
func (c *Chaincode) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	fn, params := stub.GetFunctionAndParameters()
	if fn != metadataTx {
		want, ok := c.args[fn]
		if !ok {
			return shim.Error(ledger.InvalidArgument("function", "unknown transaction; see docs/chaincode-api.md for the list").Error())
		}
		if len(params) != len(want) {
			return shim.Error(ledger.InvalidArgument("arguments", "%s takes %d argument(s): %s; got %d", fn, len(want), strings.Join(want, ", "), len(params)).Error())
		}
	}
	resp := c.inner.Invoke(stub)
	if resp.Status >= shim.ERRORTHRESHOLD {
		resp.Message = ledger.ParseError(resp.Message).Error()
	}
	return resp
}
