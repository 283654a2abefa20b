package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// SOCKS4 and SOCKS4a: the client sends
//
//	VN=4 CD=1 DSTPORT(2) DSTIP(4) USERID NUL [HOST NUL]
//
// where SOCKS4a sets DSTIP to 0.0.0.x (x != 0) and appends the host name;
// the proxy answers 8 bytes, VN=0 CD DSTPORT(2) DSTIP(4), CD 90 meaning
// granted.
const (
	socks4Granted    = 90
	socks4Rejected   = 91
	socks4NoIdentd   = 92
	socks4IdentdDiff = 93
)

// checkSOCKS reports, before any byte is sent, a target or credentials
// that the SOCKS version cannot carry.
func checkSOCKS(scheme string, user *url.Userinfo, host string) error {
	var name, pass string
	if user != nil {
		name = user.Username()
		pass, _ = user.Password()
	}
	if scheme == "socks5" || scheme == "socks5h" {
		if len(name) > 255 || len(pass) > 255 {
			return fmt.Errorf("%w: SOCKS5 username or password longer than 255 bytes", ErrInvalid)
		}
		return nil
	}
	if strings.IndexByte(name, 0) >= 0 || len(name) > 255 {
		return fmt.Errorf("%w: invalid SOCKS4 user ID", ErrInvalid)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !ip.Unmap().Is4() {
		return fmt.Errorf("%w: SOCKS4 cannot reach IPv6 address %s", ErrInvalid, host)
	}
	return nil
}

func (d *Dialer) socks4(ctx context.Context, c net.Conn, remote bool, user *url.Userinfo, host string, port uint16) (net.Conn, error) {
	var userID string
	if user != nil {
		userID = user.Username()
	}
	b := make([]byte, 0, 10+len(userID)+len(host))
	b = append(b, 4, 1, byte(port>>8), byte(port))
	ip, err := netip.ParseAddr(host)
	sendName := false
	switch {
	case err == nil:
		ip = ip.Unmap() // IPv4: checked by checkSOCKS
	case remote:
		ip, sendName = netip.AddrFrom4([4]byte{0, 0, 0, 1}), true
	default:
		if ip, err = d.resolve(ctx, "ip4", host); err != nil {
			return nil, err
		}
	}
	a := ip.As4()
	b = append(b, a[:]...)
	b = append(b, userID...)
	b = append(b, 0)
	if sendName {
		b = append(b, host...)
		b = append(b, 0)
	}
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	var reply [8]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		return nil, socksReadErr(err)
	}
	if reply[0] != 0 && reply[0] != 4 {
		return nil, fmt.Errorf("%w: SOCKS4 reply version %d", ErrProtocol, reply[0])
	}
	switch code := reply[1]; code {
	case socks4Granted:
		return c, nil
	case socks4Rejected, socks4NoIdentd, socks4IdentdDiff:
		return nil, d.refused(&Error{Code: int(code), Status: socks4Text(code)}, code == socks4IdentdDiff)
	default:
		return nil, fmt.Errorf("%w: SOCKS4 reply code %d", ErrProtocol, code)
	}
}

func socks4Text(code byte) string {
	switch code {
	case socks4Rejected:
		return "request rejected or failed"
	case socks4NoIdentd:
		return "cannot connect to identd on the client"
	case socks4IdentdDiff:
		return "user ID not confirmed by identd"
	}
	return "unknown reply"
}

// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929).
const (
	socks5Version     = 5
	socks5NoAuth      = 0
	socks5UserPass    = 2
	socks5NoMethod    = 0xff
	socks5Connect     = 1
	socks5AddrIPv4    = 1
	socks5AddrName    = 3
	socks5AddrIPv6    = 4
	socks5AuthVersion = 1
)

func (d *Dialer) socks5(ctx context.Context, c net.Conn, remote bool, user *url.Userinfo, host string, port uint16) (net.Conn, error) {
	refused := func(code byte, status string, auth bool) error {
		return d.refused(&Error{Code: int(code), Status: status}, auth)
	}
	var name, pass string
	if user != nil {
		name = user.Username()
		pass, _ = user.Password()
	}

	// Method selection.
	b := make([]byte, 0, 16+len(host)+len(name)+len(pass))
	if name != "" {
		b = append(b, socks5Version, 2, socks5NoAuth, socks5UserPass)
	} else {
		b = append(b, socks5Version, 1, socks5NoAuth)
	}
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	var r [4]byte
	if _, err := io.ReadFull(c, r[:2]); err != nil {
		return nil, socksReadErr(err)
	}
	if r[0] != socks5Version {
		return nil, fmt.Errorf("%w: SOCKS5 reply version %d", ErrProtocol, r[0])
	}
	switch r[1] {
	case socks5NoAuth:
	case socks5UserPass:
		if name == "" {
			return nil, fmt.Errorf("%w: SOCKS5 proxy chose a method that was not offered", ErrProtocol)
		}
		b = append(b[:0], socks5AuthVersion, byte(len(name)))
		b = append(b, name...)
		b = append(b, byte(len(pass)))
		b = append(b, pass...)
		if _, err := c.Write(b); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, r[:2]); err != nil {
			return nil, socksReadErr(err)
		}
		if r[1] != 0 {
			return nil, refused(r[1], "username/password rejected", true)
		}
	case socks5NoMethod:
		return nil, refused(r[1], "no acceptable authentication method", true)
	default:
		return nil, fmt.Errorf("%w: SOCKS5 proxy chose a method that was not offered", ErrProtocol)
	}

	// Connect request.
	b = append(b[:0], socks5Version, socks5Connect, 0)
	ip, err := netip.ParseAddr(host)
	if err != nil && !remote {
		if ip, err = d.resolve(ctx, "ip", host); err != nil {
			return nil, err
		}
	}
	switch {
	case err != nil: // socks5h: the proxy resolves the name
		b = append(b, socks5AddrName, byte(len(host)))
		b = append(b, host...)
	case ip.Unmap().Is4():
		a := ip.Unmap().As4()
		b = append(b, socks5AddrIPv4)
		b = append(b, a[:]...)
	default:
		a := ip.As16()
		b = append(b, socks5AddrIPv6)
		b = append(b, a[:]...)
	}
	b = append(b, byte(port>>8), byte(port))
	if _, err := c.Write(b); err != nil {
		return nil, err
	}

	// Reply: VER REP RSV ATYP BND.ADDR BND.PORT.
	if _, err := io.ReadFull(c, r[:4]); err != nil {
		return nil, socksReadErr(err)
	}
	if r[0] != socks5Version {
		return nil, fmt.Errorf("%w: SOCKS5 reply version %d", ErrProtocol, r[0])
	}
	if r[1] != 0 {
		return nil, refused(r[1], socks5Text(r[1]), false)
	}
	var n int
	switch r[3] {
	case socks5AddrIPv4:
		n = 4
	case socks5AddrIPv6:
		n = 16
	case socks5AddrName:
		if _, err := io.ReadFull(c, r[:1]); err != nil {
			return nil, socksReadErr(err)
		}
		n = int(r[0])
	default:
		return nil, fmt.Errorf("%w: SOCKS5 reply address type %d", ErrProtocol, r[3])
	}
	var skip [255 + 2]byte
	if _, err := io.ReadFull(c, skip[:n+2]); err != nil {
		return nil, socksReadErr(err)
	}
	return c, nil
}

func socks5Text(code byte) string {
	switch code {
	case 1:
		return "general SOCKS server failure"
	case 2:
		return "connection not allowed by ruleset"
	case 3:
		return "network unreachable"
	case 4:
		return "host unreachable"
	case 5:
		return "connection refused"
	case 6:
		return "TTL expired"
	case 7:
		return "command not supported"
	case 8:
		return "address type not supported"
	}
	return "unknown reply"
}

// resolve looks host up for a SOCKS proxy that needs an address.
func (d *Dialer) resolve(ctx context.Context, network, host string) (netip.Addr, error) {
	res := d.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ips, err := res.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, &net.DNSError{Err: "no address", Name: host, IsNotFound: true}
	}
	return ips[0].Unmap(), nil
}

// socksReadErr reports an early end of the proxy's reply as a protocol
// violation; other errors (timeouts) pass through.
func socksReadErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: connection closed during the SOCKS exchange", ErrProtocol)
	}
	return err
}
