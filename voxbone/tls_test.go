package voxbone_test

import "crypto/tls"

// insecureTLS builds the configuration the client must refuse; it is never used to connect.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // refused by the client
