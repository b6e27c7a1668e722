package daemon

// OpenEmbedded exposes openEmbedded to the external tests, which open the
// gateway's own embedded ledger while the gateway is stopped.
var OpenEmbedded = openEmbedded
