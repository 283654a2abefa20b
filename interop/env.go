package interop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Keys of the env file, and the environment variables that steer tests.
const (
	KeyEnvFile  = "FW_INTEROP_ENV"      // path of the env file, instead of the search
	KeyRequired = "FW_INTEROP_REQUIRED" // "1": a missing server fails the test

	KeyDir         = "FW_INTEROP_DIR"          // state directory: configs, logs, pids
	KeyWS          = "FW_INTEROP_WS"           // ws:// Node.js ws echo server
	KeyWSDeflate   = "FW_INTEROP_WS_DEFLATE"   // ws:// the same with permessage-deflate
	KeyPython      = "FW_INTEROP_PY"           // ws:// Python websockets echo server
	KeyAutobahn    = "FW_INTEROP_AUTOBAHN"     // ws:// Autobahn-Python echo server
	KeyAutobahnNCT = "FW_INTEROP_AUTOBAHN_NCT" // ws:// the same, answering client_no_context_takeover
	KeyNginx       = "FW_INTEROP_NGINX"        // ws:// nginx in front of KeyWS; of the deflate servers under /ws-deflate/, /py/, /autobahn/, /autobahn-nct/
	KeyNginxTLS    = "FW_INTEROP_NGINX_TLS"    // wss:// the same nginx
	KeyCA          = "FW_INTEROP_CA"           // PEM file of the CA that signed nginx's certificate
	KeyUser        = "FW_INTEROP_USER"         // user name for squid, dante and /basic
	KeyPass        = "FW_INTEROP_PASS"         // its password
	KeySquid       = "FW_INTEROP_SQUID"        // http://user:pass@host:port, CONNECT with Basic auth
	KeySquidNoAuth = "FW_INTEROP_SQUID_NOAUTH" // http://host:port of the same squid
	KeyTinyproxy   = "FW_INTEROP_TINYPROXY"    // http://host:port, CONNECT without auth
	KeyDante       = "FW_INTEROP_DANTE"        // socks5://host:port, no auth
	KeyDanteAuth   = "FW_INTEROP_DANTE_AUTH"   // socks5://user:pass@host:port, username/password only

	// WebSocket over HTTP/2 (RFC 8441): ws:// is h2c with prior knowledge,
	// wss:// TLS with ALPN.
	KeyH2Go            = "FW_INTEROP_H2_GO"             // ws:// Go x/net/http2 echo, extended CONNECT
	KeyH2GoTLS         = "FW_INTEROP_H2_GO_TLS"         // wss:// the same; ALPN h2, http/1.1
	KeyH2NoXConnect    = "FW_INTEROP_H2_NOXCONNECT"     // ws:// the Go echo without ENABLE_CONNECT_PROTOCOL
	KeyH2NoXConnectTLS = "FW_INTEROP_H2_NOXCONNECT_TLS" // wss:// the same; ALPN h2, http/1.1
	KeyH2Node          = "FW_INTEROP_H2_NODE"           // ws:// Node.js http2 + ws echo, permessage-deflate
	KeyH2NodeTLS       = "FW_INTEROP_H2_NODE_TLS"       // wss:// the same; ALPN h2 only
	KeyHypercorn       = "FW_INTEROP_HYPERCORN"         // ws:// Hypercorn ASGI echo (HTTP/1.1 and h2c)
	KeyHypercornTLS    = "FW_INTEROP_HYPERCORN_TLS"     // wss:// the same; ALPN h2, http/1.1
	KeyHAProxy         = "FW_INTEROP_HAPROXY"           // ws:// HAProxy h2 frontend in front of KeyWSDeflate
	KeyHAProxyTLS      = "FW_INTEROP_HAPROXY_TLS"       // wss:// the same; ALPN h2, http/1.1
)

// EnvPath is where the env file is looked for below a directory.
const EnvPath = ".interop/env"

// maxEnvSize bounds the env file that Load reads.
const maxEnvSize = 1 << 20

// ErrNoEnvFile means that no env file was found.
var ErrNoEnvFile = errors.New("interop: no env file")

// SyntaxError reports a line of an env file that is not KEY=VALUE.
type SyntaxError struct {
	Line int    // 1-based
	Text string // the line
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("interop: env line %d: not KEY=VALUE: %q", e.Line, e.Text)
}

// Env is the content of an env file.
type Env struct {
	path string
	vars map[string]string
}

// Parse reads an env file's content from r.
func Parse(r io.Reader) (*Env, error) {
	e := &Env{vars: make(map[string]string)}
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validKey(k) {
			return nil, &SyntaxError{Line: n, Text: line}
		}
		e.vars[k] = v
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("interop: reading env: %w", err)
	}
	return e, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Load reads the env file at path.
func Load(path string) (*Env, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoEnvFile, path)
	}
	if err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	defer f.Close()
	e, err := Parse(io.LimitReader(f, maxEnvSize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e.path = path
	return e, nil
}

// Find returns the path of EnvPath in dir or the nearest parent of dir
// that has one.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("interop: %w", err)
	}
	start := dir
	for {
		p := filepath.Join(dir, EnvPath)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no %s in %s or its parents", ErrNoEnvFile, EnvPath, start)
		}
		dir = parent
	}
}

// LoadDefault loads the env file named by the environment variable
// FW_INTEROP_ENV, or else the one Find finds from the working directory.
func LoadDefault() (*Env, error) {
	if p := os.Getenv(KeyEnvFile); p != "" {
		return Load(p)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	p, err := Find(wd)
	if err != nil {
		return nil, err
	}
	return Load(p)
}

// Path returns the file the Env was loaded from, or "" if it was parsed.
func (e *Env) Path() string { return e.path }

// Get returns the value of key in the file.
func (e *Env) Get(key string) (string, bool) {
	v, ok := e.vars[key]
	return v, ok
}

// Keys returns the file's keys, sorted.
func (e *Env) Keys() []string {
	keys := make([]string, 0, len(e.vars))
	for k := range e.vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
