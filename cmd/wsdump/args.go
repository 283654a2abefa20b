package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/framewire/ws/conn"
)

// options are wsdump's parsed command line.
type options struct {
	url          string
	proxy        *url.URL
	verbose      int
	nocert       bool
	raw          bool
	subprotocols []string
	origin       string
	eofWait      time.Duration
	text         string
	timings      bool
	compress     bool
	http2        conn.HTTP2Mode
	headers      http.Header
}

// errHelp reports -h or --help.
var errHelp = errors.New("help requested")

// usageError is a command line wsdump cannot run.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const usageLine = "usage: wsdump [-h] [-p PROXY] [-v [VERBOSE]] [-n] [-r] [-z] [-s [SUBPROTOCOLS ...]] [-o ORIGIN]\n" +
	"              [--eof-wait EOF_WAIT] [-t TEXT] [--timings] [--headers HEADERS] [--http2 {prefer,only}]\n" +
	"              ws_url\n"

const usageText = usageLine + `
WebSocket Simple Dump Tool

positional arguments:
  ws_url                websocket url. ex. ws://127.0.0.1:8080/

options:
  -h, --help            show this help message and exit
  -p PROXY, --proxy PROXY
                        proxy url: http, https, socks4, socks4a, socks5 or socks5h.
                        ex. http://127.0.0.1:8080
  -v [VERBOSE], --verbose [VERBOSE]
                        set verbose mode. If set to 1, show opcode. If set to 2,
                        enable to trace websocket module
  -n, --nocert          Ignore invalid SSL cert
  -r, --raw             raw output
  -z, --compress        offer permessage-deflate; with -v, show what was agreed
  -s [SUBPROTOCOLS ...], --subprotocols [SUBPROTOCOLS ...]
                        Set subprotocols
  -o ORIGIN, --origin ORIGIN
                        Set origin
  --eof-wait EOF_WAIT   wait time(second) after 'EOF' received.
  -t TEXT, --text TEXT  Send initial text
  --timings             Print timings in seconds
  --headers HEADERS     Set custom headers. Use ',' as separator
  --http2 {prefer,only}
                        WebSocket over HTTP/2 (RFC 8441): prefer falls back to HTTP/1.1,
                        only fails without it; with -v, show the HTTP version

exit status: 0 success, 2 usage error, 3 connection failed,
4 connection failed after it opened (protocol error or lost connection)
`

// proxySchemes are the proxy URL schemes a Dialer supports.
var proxySchemes = map[string]bool{
	"http": true, "https": true, "socks4": true, "socks4a": true, "socks5": true, "socks5h": true,
}

// parseArgs parses wsdump's arguments the way its argparse parser does:
// short options may be grouped (-rn), -v takes an optional count and may
// be repeated (-v, -vv, -v 2, --verbose=2), -s takes every following
// argument up to the next option or the URL.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		// setValue sets the option name, spelt opt on the command line,
		// to its argument: inline or the next one, unless that one is an
		// option, as argparse reads it.
		setValue := func(opt, name, inline string, hasInline bool) error {
			if !hasInline {
				if i+1 >= len(args) || isOption(args[i+1]) {
					return usagef("argument %s: expected one argument", opt)
				}
				i++
				inline = args[i]
			}
			return o.set(name, inline)
		}
		switch {
		case arg == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(arg, "--"):
			name, inline, hasInline := strings.Cut(arg[2:], "=")
			name, err := longOption(name)
			if err != nil {
				return nil, err
			}
			switch name {
			case "help":
				return nil, errHelp
			case "nocert", "raw", "timings", "compress":
				if hasInline {
					return nil, usagef("argument --%s: ignored explicit argument %q", name, inline)
				}
				flag := name[0]
				if name == "compress" {
					flag = 'z'
				}
				o.setFlag(flag)
			case "verbose":
				switch {
				case hasInline:
					if err := o.setVerbose(inline); err != nil {
						return nil, err
					}
				default:
					i = o.takeVerbose(args, i)
				}
			case "subprotocols":
				// An argument in the same word is the only one taken.
				if hasInline {
					o.subprotocols = append(o.subprotocols, inline)
				} else {
					i = o.takeSubprotocols(args, i)
				}
			case "proxy", "origin", "eof-wait", "text", "headers", "http2":
				if err := setValue("--"+name, name, inline, hasInline); err != nil {
					return nil, err
				}
			default:
				return nil, usagef("unrecognized arguments: %s", arg)
			}
		case len(arg) > 1 && arg[0] == '-':
			cluster := arg[1:]
			for j := 0; j < len(cluster); j++ {
				c := cluster[j]
				rest := cluster[j+1:]
				// The option's argument in the same word: -ovalue, or
				// -o=value as argparse reads an option that opens the
				// word (-ro=value gives "=value").
				inline, has := rest, rest != ""
				if j == 0 && strings.HasPrefix(rest, "=") {
					inline = rest[1:]
				}
				switch c {
				case 'h':
					return nil, errHelp
				case 'n', 'r', 'z':
					o.setFlag(c)
				case 'v':
					switch {
					case rest != "" && strings.Trim(rest, "v") == "":
						o.verbose = len(rest) + 1 // -vv, -vvv
					case has:
						if err := o.setVerbose(inline); err != nil {
							return nil, err
						}
					default:
						i = o.takeVerbose(args, i)
					}
					j = len(cluster)
				case 's':
					if has {
						o.subprotocols = append(o.subprotocols, inline)
					} else {
						i = o.takeSubprotocols(args, i)
					}
					j = len(cluster)
				case 'p', 'o', 't':
					name := map[byte]string{'p': "proxy", 'o': "origin", 't': "text"}[c]
					if err := setValue("-"+string(c), name, inline, has); err != nil {
						return nil, err
					}
					j = len(cluster)
				default:
					return nil, usagef("unrecognized arguments: -%c", c)
				}
			}
		default:
			positional = append(positional, arg)
		}
	}
	switch len(positional) {
	case 0:
		return nil, usagef("the following arguments are required: ws_url")
	case 1:
		o.url = positional[0]
	default:
		return nil, usagef("unrecognized arguments: %s", strings.Join(positional[1:], " "))
	}
	return o, nil
}

// isOption reports whether argparse takes s for an option rather than an
// argument: it begins with '-' and is not '-' alone, a negative number
// or a string holding a space.
func isOption(s string) bool {
	if len(s) < 2 || s[0] != '-' || strings.Contains(s, " ") {
		return false
	}
	return !isNegativeNumber(s[1:])
}

// isNegativeNumber reports whether "-"+s is a negative number as argparse
// recognises one: digits, or digits, a point and digits, the first
// digits optional.
func isNegativeNumber(s string) bool {
	whole, frac, point := strings.Cut(s, ".")
	digits := func(d string) bool { return d != "" && strings.Trim(d, "0123456789") == "" }
	if !point {
		return digits(whole)
	}
	return (whole == "" || digits(whole)) && digits(frac)
}

// longOptions are wsdump's long options, without their dashes.
var longOptions = []string{
	"help", "proxy", "verbose", "nocert", "raw", "compress", "subprotocols",
	"origin", "eof-wait", "text", "timings", "headers", "http2",
}

// longOption returns the long option that name, given after "--", names:
// itself, or, as argparse allows, the only option it begins. A name that
// begins several is an error that lists them; one that begins none is
// returned as it is, to be reported unrecognised.
func longOption(name string) (string, error) {
	var match []string
	for _, o := range longOptions {
		if o == name {
			return name, nil
		}
		if name != "" && strings.HasPrefix(o, name) {
			match = append(match, "--"+o)
		}
	}
	switch len(match) {
	case 0:
		return name, nil
	case 1:
		return match[0][2:], nil
	}
	return "", usagef("ambiguous option: --%s could match %s", name, strings.Join(match, ", "))
}

func (o *options) setFlag(c byte) {
	switch c {
	case 'n':
		o.nocert = true
	case 'r':
		o.raw = true
	case 't':
		o.timings = true
	case 'z':
		o.compress = true
	}
}

// isCount reports whether s is a verbosity level given after -v: digits.
func isCount(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// setVerbose sets the level given with -v, as websocket-client's
// VAction reads it: a number, or else one more than the v's in it (so
// "-v=" is 1 and "-v=v" is 2). A number past any useful level is taken
// as the highest.
func (o *options) setVerbose(s string) error {
	if !isCount(s) {
		o.verbose = strings.Count(s, "v") + 1
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		n = 1<<31 - 1 // out of range: digits only, so too large
	}
	o.verbose = int(n)
	return nil
}

// takeVerbose sets the level of a -v given without one: the argument after
// args[i] when it is a count, 1 otherwise. It returns the index of the
// last argument taken.
func (o *options) takeVerbose(args []string, i int) int {
	if i+1 < len(args) && isCount(args[i+1]) {
		i++
		o.setVerbose(args[i])
		return i
	}
	o.verbose = 1
	return i
}

// takeSubprotocols appends the arguments after args[i] up to the next
// option, or up to one that looks like the URL when no URL was given yet,
// and returns the index of the last one taken.
func (o *options) takeSubprotocols(args []string, i int) int {
	for i+1 < len(args) {
		next := args[i+1]
		if strings.HasPrefix(next, "-") || strings.Contains(next, "://") {
			break
		}
		o.subprotocols = append(o.subprotocols, next)
		i++
	}
	return i
}

func (o *options) set(name, v string) error {
	switch name {
	case "proxy":
		if v == "" {
			o.proxy = nil // as websocket-client: an empty proxy is none
			break
		}
		u, err := parseProxy(v)
		if err != nil {
			return err
		}
		o.proxy = u
	case "origin":
		o.origin = v
	case "text":
		o.text = v
	case "eof-wait":
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || !(secs >= 0 && secs <= 1e6) { // NaN too
			return usagef("argument --eof-wait: invalid value %q", v)
		}
		o.eofWait = time.Duration(secs * float64(time.Second))
	case "headers":
		h, err := parseHeaders(v)
		if err != nil {
			return err
		}
		o.headers = h
	case "http2":
		switch v {
		case "prefer":
			o.http2 = conn.HTTP2Prefer
		case "only":
			o.http2 = conn.HTTP2Only
		default:
			return usagef("argument --http2: invalid choice %q (choose from 'prefer', 'only')", v)
		}
	}
	return nil
}

// parseProxy parses a proxy URL. Without a scheme, "host:port" means an
// HTTP proxy, as websocket-client reads it.
func parseProxy(v string) (*url.URL, error) {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() == "" {
		return nil, usagef("argument -p/--proxy: invalid proxy URL %q", redactProxy(v, u))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if !proxySchemes[u.Scheme] {
		return nil, usagef("argument -p/--proxy: unsupported proxy scheme %q", u.Scheme)
	}
	return u, nil
}

// redactProxy is the proxy URL v, as parsed into u if it was, for an
// error message: without the password, as url.URL.Redacted writes it, or
// without the user information at all when v did not parse.
func redactProxy(v string, u *url.URL) string {
	if u != nil && u.User != nil {
		return u.Redacted()
	}
	// Not read as user information (an opaque URL, or no URL at all):
	// whatever comes before the last @ may be a credential.
	at := strings.LastIndex(v, "@")
	if at < 0 {
		return v
	}
	if i := strings.Index(v, "://"); i >= 0 && i < at {
		return v[:i+3] + "xxxxx" + v[at:]
	}
	return "xxxxx" + v[at:]
}

// parseHeaders parses "Name: value, Name2: value2", wsdump's --headers.
// Its errors name a bad item by its place and its field name, never by
// its value, which may be a credential.
func parseHeaders(v string) (http.Header, error) {
	h := http.Header{}
	n := 0
	for item := range strings.SplitSeq(v, ",") {
		n++
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || !httpguts.ValidHeaderFieldName(name):
			return nil, usagef("argument --headers: item %d is not \"Name: value\"", n)
		case !httpguts.ValidHeaderFieldValue(value):
			return nil, usagef("argument --headers: item %d, %s: invalid value", n, name)
		}
		h.Add(name, value)
	}
	return h, nil
}
