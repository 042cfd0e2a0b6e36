package prefect

import (
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
)

// Prefect's error text, or that of a proxy in front of it, may quote the request it refused,
// headers included. Before such text becomes an Error's Message (shown to callers) or its
// cause (logged), every form of the credentials the call carried is cut out of it: the
// gateway's own key or auth string, the caller's (passthrough, per-user), a password in
// PREFECT_API_URL, each raw, base64-encoded (as in a Basic header) and URL-escaped.

const redacted = "[REDACTED]"

// minSecretPart is the shortest piece of a secret (the password of "user:password") that is
// redacted on its own; shorter pieces would garble ordinary words, and the whole secret is
// redacted anyway.
const minSecretPart = 6

// secretForms lists the strings that give a secret away, longest first so that a longer form
// is replaced before a shorter one it contains.
func secretForms(secrets ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string, min int) {
		if len(s) >= min && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		pieces := []string{s}
		if _, pw, ok := strings.Cut(s, ":"); ok {
			pieces = append(pieces, pw)
		}
		for i, p := range pieces {
			min := 1
			if i > 0 {
				min = minSecretPart
			}
			add(p, min)
			add(url.QueryEscape(p), min)
			add(url.PathEscape(p), min)
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(s)), 1)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// redactor removes the client's own secrets and those of one call from text.
type redactor struct{ forms []string }

func (r redactor) text(s string) string {
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redacted)
		}
	}
	return s
}

// err returns err itself when its text holds no secret (so errors.As still finds what it
// wraps), else an error with the redacted text.
func (r redactor) err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.text(msg); clean != msg {
		return errors.New(clean)
	}
	return err
}

// redactorFor covers the client's default credential, the URL's password and cred.
func (c *Client) redactorFor(cred Credential) redactor {
	if cred == c.cred || cred.Secret == "" {
		return c.ownSecrets
	}
	return redactor{forms: secretForms(append(append([]string(nil), c.secrets...), cred.Secret)...)}
}

// urlSecrets are the password of a URL and the "user:password" a Basic header would carry.
func urlSecrets(u *url.URL) []string {
	if u == nil || u.User == nil {
		return nil
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return nil
	}
	return []string{pw, u.User.Username() + ":" + pw}
}

// RedactedURL is a URL fit for a log line: its password, if any, replaced.
func RedactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
