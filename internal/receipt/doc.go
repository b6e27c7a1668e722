// Package receipt is medprov's evidence receipt: a small JSON document per
// record version that lets anyone holding the document check it against the
// ledger without the custodian. The receipt carries the record ID, version,
// custodian, the 32-byte commitment salt, the anchored commitment, and where
// the anchoring transaction sits on the ledger.
//
// Checking is two steps. Receipt.Check streams the content through SHA-256,
// recomputes the salted commitment with ledger.Commitment and says whether
// the document matches its receipt. The caller then asks the ledger
// (VerifyRecord with the arguments Receipt.LedgerQuery returns) and hands the
// answer to Result.Consistent, which checks that the ledger's custodian,
// transaction and time agree with the receipt. The block number is not
// among them: VerifyRecord does not return it, so it is the custodian's
// statement, which VerifyRecord does not confirm; a verifier with access to
// the ledger can confirm it by looking the transaction up.
//
// A receipt holds the salt, so it is as sensitive as the link between the
// content and the ledger: it must be kept with the record. Once a record is
// erased its receipt loses the salt and can no longer check content.
//
// The package is pure: it reuses the validation and commitment of
// github.com/medprov/medprov/chaincode/ledger and must not import gRPC, a
// ledger client, the gateway's store or anything else that does I/O beyond
// the io.Reader it is handed.
package receipt
