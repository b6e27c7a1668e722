package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServesAsAServiceWhenTheAddressIsSet(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("CHAINCODE_SERVER_ADDRESS", addr)
	t.Setenv("CHAINCODE_ID", "medprov_1.0:0123456789abcdef")
	t.Setenv("CHAINCODE_TLS_KEY", "")
	t.Setenv("CHAINCODE_TLS_CERT", "")
	errc := make(chan error, 1)
	go func() { errc <- run() }() // serves until the test process exits
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-errc:
			t.Fatalf("run returned: %v", err)
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServiceSettingsAreChecked(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	present := filepath.Join(dir, "present.pem")
	if err := os.WriteFile(present, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		env  map[string]string
		want string // substring of the error naming the setting
	}{
		"an address without a chaincode ID is refused": {
			map[string]string{"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0", "CHAINCODE_ID": "", "CORE_CHAINCODE_ID_NAME": ""}, "CHAINCODE_ID",
		},
		"a TLS key without a certificate is refused": {
			map[string]string{"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0", "CHAINCODE_ID": "x", "CHAINCODE_TLS_KEY": present, "CHAINCODE_TLS_CERT": ""}, "CHAINCODE_TLS_CERT",
		},
		"an unreadable TLS key is refused": {
			map[string]string{"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0", "CHAINCODE_ID": "x", "CHAINCODE_TLS_KEY": missing, "CHAINCODE_TLS_CERT": present}, "CHAINCODE_TLS_KEY",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			err := run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
