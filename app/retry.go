package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"

	"github.com/framewire/ws/conn"
	"github.com/framewire/ws/handshake"
	"github.com/framewire/ws/proxy"
	"github.com/framewire/ws/status"
)

// Retryable is the default reconnect policy ([Backoff.Retry]). It reports
// whether err, which ended a connection or an attempt to open one, may be
// transient, so that connecting again may succeed:
//
//   - the peer's close frame, a *[status.CloseError]: only for the codes
//     of a server that is going away, restarting or overloaded: GoingAway
//     (1001), InternalError (1011), ServiceRestart (1012), TryAgainLater
//     (1013) and BadGateway (1014). A close with 1000, 1002-1010 or an
//     application's code (3000-4999) ends Run;
//   - a handshake answered with an HTTP status other than 101
//     (*[handshake.StatusError], or a *[proxy.Error] for a
//     proxy's answer): only for 408, 429, 500, 502, 503 and 504;
//   - never for what connecting again would repeat: a bad URL
//     ([handshake.ErrInvalidURL]), a host name that does not exist (a
//     *net.DNSError with IsNotFound), a server certificate that fails
//     verification, a 101 response that fails validation
//     ([handshake.ErrHandshake]), too many, bad or insecure redirects, a
//     request header or compression offer that cannot be sent, a proxy
//     request that cannot be made ([proxy.ErrInvalid]), refused proxy
//     credentials ([proxy.ErrAuth]), a NetDial that returns no connection;
//   - always for anything else: a lost connection
//     ([conn.ErrConnectionLost]), a protocol violation by the peer, a
//     missing pong ([ErrPongTimeout]), a refused or reset TCP connection, a
//     timeout, a failure of the network or of name resolution, an error
//     from App.Header.
//
// websocket-client 1.8.0 never reconnects after a close frame, whatever
// its code.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if ce := peerClose(err); ce != nil {
		switch ce.Code {
		case status.GoingAway, status.InternalError, status.ServiceRestart, status.TryAgainLater, status.BadGateway:
			return true
		}
		return false
	}
	var se *handshake.StatusError
	if errors.As(err, &se) {
		return transientStatus(se.StatusCode)
	}
	var pe *proxy.Error
	if errors.As(err, &pe) && pe.StatusCode != 0 {
		return transientStatus(pe.StatusCode)
	}
	var (
		dns *net.DNSError
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, handshake.ErrInvalidURL),
		errors.Is(err, handshake.ErrHandshake),
		errors.Is(err, handshake.ErrBadStatus), // a redirect not followed
		errors.Is(err, conn.ErrTooManyRedirects),
		errors.Is(err, handshake.ErrInvalidHeader),
		errors.Is(err, handshake.ErrInvalidKey),
		errors.Is(err, handshake.ErrInvalidOffer),
		errors.Is(err, conn.ErrExtensionHeader),
		errors.Is(err, conn.ErrInsecureRedirect),
		errors.Is(err, conn.ErrNetDial),
		errors.Is(err, proxy.ErrInvalid),
		errors.Is(err, proxy.ErrAuth),
		errors.As(err, &dns) && dns.IsNotFound,
		errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie):
		return false
	}
	return true
}

// transientStatus reports whether an HTTP status answering the opening
// handshake says to try again later.
func transientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// peerClose returns the peer's close frame that err reports, or nil. A
// *status.CloseError with code 1006 (AbnormalClosure), as conn wraps with
// ErrConnectionLost, stands for the absence of a close frame: a loss.
func peerClose(err error) *status.CloseError {
	var ce *status.CloseError
	if errors.As(err, &ce) && ce.Code != status.AbnormalClosure {
		return ce
	}
	return nil
}

// retry asks the policy whether to reconnect after err.
func (a *App) retry(err error) bool {
	if a.Reconnect.Retry == nil {
		return Retryable(err)
	}
	ok := false // a panicking policy says no
	a.call("Retry", func() { ok = a.Reconnect.Retry(err) })
	return ok
}
