// Command netca writes the crypto material of the local Fabric test network
// (test-network/) with the development CA of internal/devca: one signing CA
// and one TLS CA per organisation, the orderer and peer node identities, each
// organisation's Admin, the TLS key pair of each organisation's
// chaincode-as-a-service process, and for each peer organisation the wallet
// and server certificate a medprov gateway of that organisation uses.
//
// Every user in a wallet is a client (NodeOU client) whose certificate
// carries the medprov.role and medprov.clearance attributes the way Fabric
// CA encodes them, so the peers' MSPs accept it and the chaincode reads its
// role and clearance. The users are those of gateway/devup.
//
// netca is idempotent: an organisation that is already on disk is loaded,
// not replaced, and an identity that is already on disk is kept, so running
// it again after a partial run completes the set without changing anything
// that exists. It is for a development network on one machine only: the CA
// keys are stored unencrypted.
//
// Usage:
//
//	netca -crypto DIR -gateways DIR [-orderers N]
//
// The package must import only the standard library and internal/devca
// (its tests also use gateway/devup, to keep the same users, and
// fabric-chaincode-go's attrmgr, to read the attributes back).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "netca:", err)
		os.Exit(1)
	}
}

// run parses the command line and writes the crypto material; it reports a
// summary line to out.
func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("netca", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg config
	fs.StringVar(&cfg.cryptoDir, "crypto", "", "folder for the organisations' CAs and node identities (required)")
	fs.StringVar(&cfg.gatewaysDir, "gateways", "", "folder for each peer organisation's gateway wallet and server certificate (required)")
	fs.IntVar(&cfg.orderers, "orderers", maxOrderers, "number of orderer nodes to issue, 1 to "+strconv.Itoa(maxOrderers))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: netca takes flags only", fs.Arg(0))
	}
	n, err := generate(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "netca: %d organisations, %d identities issued now (existing ones kept) under %s and %s\n",
		len(peerOrgs)+1, n, cfg.cryptoDir, cfg.gatewaysDir)
	return nil
}

// exists reports whether path exists; errors other than "does not exist"
// are returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// loopback is what every TLS certificate of the test network is issued for.
var loopback = []net.IP{net.IPv4(127, 0, 0, 1)}
