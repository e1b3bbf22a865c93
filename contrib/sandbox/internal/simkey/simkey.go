// Package simkey is the sandbox's stand-in for a Twenty workspace API key:
// a token signed with the install's APP_SECRET that names a row of
// core."apiKey" (Twenty's keys are JWTs signed with a secret derived from
// APP_SECRET). twenty-sim checks it; the sandbox mints it for the tests.
package simkey

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Token is the token of API key id for an install whose APP_SECRET is secret.
func Token(secret string, id int) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "apiKey:%d", id)
	return fmt.Sprintf("sim.%d.%s", id, hex.EncodeToString(m.Sum(nil)))
}

// ID returns the key row a well-signed token names, or false.
func ID(secret, token string) (int, bool) {
	var id int
	if _, err := fmt.Sscanf(token, "sim.%d.", &id); err != nil || !hmac.Equal([]byte(token), []byte(Token(secret, id))) {
		return 0, false
	}
	return id, true
}
