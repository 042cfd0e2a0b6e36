package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Client headers are believed only as far as the operator says (DESIGN §10): a caller's
// X-Request-ID when it looks like an id, forwarding headers only from configured proxies.

// maxRequestIDLength bounds a caller's X-Request-ID; ids of tracing systems (UUIDs, 32-hex
// trace ids, AWS's Root=1-…) are well under it.
const maxRequestIDLength = 128

// validRequestID reports whether a caller's X-Request-ID can be kept: short, and made of
// characters that cannot break a log line or a header.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.:=/+@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// dropForeignRequestID removes an X-Request-ID that does not look like an id, so that Echo's
// request-id middleware, which keeps whatever it finds, generates one instead.
func dropForeignRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if vs := h.Values(echo.HeaderXRequestID); len(vs) > 0 && (len(vs) > 1 || !validRequestID(vs[0])) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

// ParseTrustedProxies reads GATEWAY_TRUSTED_PROXIES: comma-separated IP addresses or CIDR
// ranges of the proxies whose X-Forwarded-For the gateway believes. Empty: none.
func ParseTrustedProxies(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			ip := net.ParseIP(part)
			if ip == nil {
				return nil, fmt.Errorf("%q is not an IP address or a CIDR range", part)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or a CIDR range", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// ipExtractor is how c.RealIP() finds the client: the connection's peer unless proxies are
// configured, then the address X-Forwarded-For names before the last trusted hop. Echo's
// default would believe X-Forwarded-For and X-Real-IP from anyone.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// oneAuthorization refuses a request with more than one Authorization header: which of them
// counts would be a guess, and a proxy in front may have checked the other.
func oneAuthorization(req *http.Request) *Problem {
	if n := len(req.Header.Values(echo.HeaderAuthorization)); n > 1 {
		return BadRequest("The request carries %d Authorization headers; send exactly one.", n)
	}
	return nil
}
