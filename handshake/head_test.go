package handshake_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"testing"

	"github.com/framewire/ws/handshake"
)

// refHeader parses header field lines the plain way, one map entry at a
// time: names canonicalised, values trimmed of spaces and tabs, a folded
// line joined to the value before it with a space.
func refHeader(lines []string) http.Header {
	h := http.Header{}
	last := ""
	for _, l := range lines {
		if l[0] == ' ' || l[0] == '\t' {
			if v := strings.Trim(l, " \t"); v != "" {
				vs := h[last]
				vs[len(vs)-1] = strings.TrimSpace(vs[len(vs)-1] + " " + v)
			}
			continue
		}
		name, value, _ := strings.Cut(l, ":")
		last = textproto.CanonicalMIMEHeaderKey(name)
		h[last] = append(h[last], strings.Trim(value, " \t"))
	}
	return h
}

// readHeader reads a 500 answer with the given field lines and returns its
// reason phrase and header, as a StatusError carries them.
func readHeader(lines []string) (string, http.Header, error) {
	raw := "HTTP/1.1 500 Server Trouble\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	u, _ := handshake.ParseURL("ws://h.test/")
	req := &handshake.Request{URL: u, Key: "dGhlIHNhbXBsZSBub25jZQ==", MaxBodyBytes: -1}
	_, err := handshake.ReadResponse(bufio.NewReader(strings.NewReader(raw)), req)
	var se *handshake.StatusError
	if !errors.As(err, &se) {
		return "", nil, err
	}
	return se.Status, se.Header, nil
}

// The header of an answer is what parsing it line by line gives, however
// many fields and bytes it has, with names in any case, repeated names and
// folded lines.
func TestResponseHeaderFields(t *testing.T) {
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("X-Field-%d: value %d", i, i))
	}
	tests := [][]string{
		{"Upgrade: websocket", "Connection: Upgrade"},
		{"sec-websocket-accept: a", "SEC-WEBSOCKET-PROTOCOL: b", "x-lower: c", "Date: d"},
		{"Set-Cookie: a=1", "X-Other: o", "set-cookie: b=2", "Set-Cookie: c=3"},
		{"X-Long: a", " b", "\tc", "X-Next: n"},
		{"X-A: 1", "X-B: 2", "x-a: 3", "  folded onto the second X-A  "},
		{"X-Empty:", " ", "X-Nbsp: \u00a0", " tail"},
		{"X-Big: " + strings.Repeat("b", 3000), "X-After: after"},
		many,
	}
	for _, lines := range tests {
		reason, got, err := readHeader(lines)
		if err != nil {
			t.Fatalf("%q: %v", lines, err)
		}
		if reason != "Server Trouble" {
			t.Errorf("%q: reason %q", lines, reason)
		}
		if want := refHeader(lines); !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\ngot  %q\nwant %q", lines, got, want)
		}
	}
}

// A value slice of the header may be appended to without changing any
// other field.
func TestResponseHeaderAppend(t *testing.T) {
	_, h, err := readHeader([]string{"X-A: 1", "X-B: 2", "X-C: 3"})
	if err != nil {
		t.Fatal(err)
	}
	h["X-A"] = append(h["X-A"], "changed")
	h.Add("X-B", "changed")
	if h.Get("X-B") != "2" || h.Get("X-C") != "3" || len(h["X-C"]) != 1 {
		t.Errorf("appending changed other fields: %q", h)
	}
}

// FuzzResponseHeader checks ReadResponse's fields against the plain
// parse, for every answer it accepts.
func FuzzResponseHeader(f *testing.F) {
	f.Add("Upgrade: websocket\nconnection: upgrade")
	f.Add("X-A: 1\n b\nX-A: 2\n\tc\nx-a:3")
	f.Add("Set-Cookie: a\nset-cookie: b\nX: \u00a0\n \u0085y")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, '\r') {
			return
		}
		var lines []string
		for l := range strings.SplitSeq(s, "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
		_, got, err := readHeader(lines)
		if err != nil {
			return // refused: not a field section
		}
		if want := refHeader(lines); !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\ngot  %q\nwant %q", lines, got, want)
		}
	})
}
