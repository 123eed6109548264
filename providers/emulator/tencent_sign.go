package emulator

// The TC3-HMAC-SHA256 signature check of Tencent calls (doc.go, Wire
// protocol).

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tcAuth is a parsed TC3 Authorization header.
type tcAuth struct {
	secretID, date, service string
	signedHeaders           []string
	signature               string
}

// parseTC3 parses "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request,
// SignedHeaders=content-type;host, Signature=HEX".
func parseTC3(h string) (*tcAuth, *apiError) {
	invalid := func(why string) (*tcAuth, *apiError) {
		return nil, errorf("AuthFailure.InvalidAuthorization", "The Authorization header is invalid: %s.", why)
	}
	alg, rest, ok := strings.Cut(h, " ")
	if h == "" {
		return invalid("it is missing")
	}
	if !ok || alg != "TC3-HMAC-SHA256" {
		return invalid("the algorithm must be TC3-HMAC-SHA256")
	}
	a := &tcAuth{}
	var cred string
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 4 || parts[3] != "tc3_request" || parts[0] == "" {
		return invalid("the Credential must be SecretId/Date/Service/tc3_request")
	}
	a.secretID, a.date, a.service = parts[0], parts[1], parts[2]
	if a.signature == "" || len(a.signedHeaders) == 0 {
		return invalid("SignedHeaders and Signature are required")
	}
	return a, nil
}

// verifyTC3 checks the SecretId, the clock window and the signature the way
// common.Client.sendWithSignatureV3 computes it.
func (e *Emulator) verifyTC3(r *http.Request, body []byte, a *tcAuth, now time.Time) *apiError {
	if e.opts.TencentSecretID == "" || a.secretID != e.opts.TencentSecretID {
		return errorf("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
	}
	tsText := r.Header.Get("X-TC-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return errorf("MissingParameter", "The X-TC-Timestamp header is missing or not a number.")
	}
	signedAt := time.Unix(ts, 0)
	if d := now.Sub(signedAt); d > tencentClockSkew || d < -tencentClockSkew {
		return errorf("AuthFailure.SignatureExpire", "The signature expired: the timestamp and the server time differ by more than five minutes.")
	}
	if a.date != signedAt.UTC().Format("2006-01-02") {
		return errorf("AuthFailure.SignatureFailure", "The credential scope date does not match X-TC-Timestamp.")
	}
	var headers strings.Builder
	seen := map[string]bool{}
	for _, h := range a.signedHeaders {
		h = strings.ToLower(strings.TrimSpace(h))
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		seen[h] = true
		headers.WriteString(h + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	if !seen["content-type"] || !seen["host"] {
		return errorf("AuthFailure.SignatureFailure", "SignedHeaders must include content-type and host.")
	}
	payload := sha256hex(body)
	if r.Header.Get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD" {
		payload = sha256hex([]byte("UNSIGNED-PAYLOAD"))
	}
	canonical := strings.Join([]string{r.Method, "/", r.URL.RawQuery, headers.String(), strings.Join(a.signedHeaders, ";"), payload}, "\n")
	scope := a.date + "/" + a.service + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + tsText + "\n" + scope + "\n" + sha256hex([]byte(canonical))
	key := hmacSHA256([]byte("TC3"+e.opts.TencentSecretKey), a.date)
	key = hmacSHA256(key, a.service)
	key = hmacSHA256(key, "tc3_request")
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return errorf("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.")
	}
	return nil
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
