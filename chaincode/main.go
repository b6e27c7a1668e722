// Command medprov-chaincode runs the medprov chaincode: as a service
// (chaincode-as-a-service) when CHAINCODE_SERVER_ADDRESS is set, otherwise
// as a chaincode the peer launches.
//
// Environment for chaincode-as-a-service:
//
//	CHAINCODE_SERVER_ADDRESS  host:port to listen on
//	CHAINCODE_ID              the package ID the peer knows the chaincode by
//	                          (CORE_CHAINCODE_ID_NAME is accepted too)
//	CHAINCODE_TLS_DISABLED    "true" to serve without TLS (default: TLS when
//	                          the key and certificate below are set)
//	CHAINCODE_TLS_KEY         PEM private key file of the server
//	CHAINCODE_TLS_CERT        PEM certificate file of the server
//	CHAINCODE_CLIENT_CA_CERT  PEM CA file; when set, peers must present a
//	                          client certificate it signed
package main

import (
	"fmt"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/medprov/medprov/chaincode/contract"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "medprov-chaincode:", err)
		os.Exit(1)
	}
}

func run() error {
	cc, err := contract.New()
	if err != nil {
		return err
	}
	addr := os.Getenv("CHAINCODE_SERVER_ADDRESS")
	if addr == "" {
		return shim.Start(cc)
	}
	id := os.Getenv("CHAINCODE_ID")
	if id == "" {
		id = os.Getenv("CORE_CHAINCODE_ID_NAME")
	}
	if id == "" {
		return fmt.Errorf("CHAINCODE_ID: want the chaincode package ID when CHAINCODE_SERVER_ADDRESS is set")
	}
	tlsProps, err := serverTLS()
	if err != nil {
		return err
	}
	server := &shim.ChaincodeServer{CCID: id, Address: addr, CC: cc, TLSProps: tlsProps}
	return server.Start()
}

// serverTLS reads the TLS settings from the environment.
func serverTLS() (shim.TLSProperties, error) {
	keyFile, certFile := os.Getenv("CHAINCODE_TLS_KEY"), os.Getenv("CHAINCODE_TLS_CERT")
	if os.Getenv("CHAINCODE_TLS_DISABLED") == "true" || (keyFile == "" && certFile == "") {
		return shim.TLSProperties{Disabled: true}, nil
	}
	if keyFile == "" || certFile == "" {
		return shim.TLSProperties{}, fmt.Errorf("CHAINCODE_TLS_KEY and CHAINCODE_TLS_CERT: want both set, or neither for no TLS")
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return shim.TLSProperties{}, fmt.Errorf("CHAINCODE_TLS_KEY: %w", err)
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return shim.TLSProperties{}, fmt.Errorf("CHAINCODE_TLS_CERT: %w", err)
	}
	props := shim.TLSProperties{Key: key, Cert: cert}
	if caFile := os.Getenv("CHAINCODE_CLIENT_CA_CERT"); caFile != "" {
		if props.ClientCACerts, err = os.ReadFile(caFile); err != nil {
			return shim.TLSProperties{}, fmt.Errorf("CHAINCODE_CLIENT_CA_CERT: %w", err)
		}
	}
	return props, nil
}
