package interop

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
		line int // > 0: a SyntaxError on that line
	}{
		{"empty", "", map[string]string{}, 0},
		{"pairs", "A=1\nB_2=ws://127.0.0.1:9/x?y=z\n", map[string]string{"A": "1", "B_2": "ws://127.0.0.1:9/x?y=z"}, 0},
		{"value keeps = and spaces", "K=a=b c \n", map[string]string{"K": "a=b c "}, 0},
		{"empty value", "K=\n", map[string]string{"K": ""}, 0},
		{"crlf", "K=v\r\nL=w\r\n", map[string]string{"K": "v", "L": "w"}, 0},
		{"no final newline", "K=v", map[string]string{"K": "v"}, 0},
		{"comments and blanks", "# c\n\n  \nK=v\n", map[string]string{"K": "v"}, 0},
		{"last wins", "K=1\nK=2\n", map[string]string{"K": "2"}, 0},
		{"no =", "A=1\nnope\n", nil, 2},
		{"empty key", "=v\n", nil, 1},
		{"digit first", "1A=v\n", nil, 1},
		{"space in key", "A B=v\n", nil, 1},
		{"export prefix", "export A=v\n", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(strings.NewReader(tt.in))
			if tt.line > 0 {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Line != tt.line {
					t.Fatalf("Parse: %v, want a SyntaxError on line %d", err, tt.line)
				}
				if !strings.HasPrefix(err.Error(), "interop: ") {
					t.Errorf("error text %q does not start with the package name", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, k := range e.Keys() {
				got[k], _ = e.Get(k)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestLoadAndFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(filepath.Join(root, ".interop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(deep); !errors.Is(err, ErrNoEnvFile) {
		t.Fatalf("Find without a file: %v, want ErrNoEnvFile", err)
	}
	path := filepath.Join(root, EnvPath)
	if err := os.WriteFile(path, []byte(KeyWS+"=ws://127.0.0.1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep)
	if err != nil || got != path {
		t.Fatalf("Find = %q, %v; want %q", got, err, path)
	}
	e, err := Load(got)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Get(KeyWS); !ok || v != "ws://127.0.0.1:1" || e.Path() != path {
		t.Errorf("Get = %q, %v; Path = %q", v, ok, e.Path())
	}
	if !slices.Equal(e.Keys(), []string{KeyWS}) {
		t.Errorf("Keys = %v", e.Keys())
	}
	if _, err := Load(filepath.Join(root, "missing")); !errors.Is(err, ErrNoEnvFile) {
		t.Errorf("Load of a missing file: %v, want ErrNoEnvFile", err)
	}
	if err := os.WriteFile(path, []byte("bad line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var se *SyntaxError
	if _, err := Load(path); !errors.As(err, &se) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of a bad file: %v, want a SyntaxError naming the file", err)
	}
}

func TestLoadDefaultFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, []byte("K=v\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(KeyEnvFile, path)
	e, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Get("K"); v != "v" {
		t.Errorf("K = %q, want v", v)
	}
}

func TestLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, []byte(KeyTinyproxy+"=http://127.0.0.1:1\n"+KeyCA+"=/nonexistent/ca.pem\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(KeyEnvFile, path)
	t.Setenv(KeyUser, "from-process")
	if v, err := lookup(KeyUser); err != nil || v != "from-process" {
		t.Errorf("lookup(%s) = %q, %v; the process environment should win", KeyUser, v, err)
	}
	for _, key := range []string{KeyTinyproxy, KeyCA, KeyDante} {
		t.Setenv(key, "")
		if v, err := lookup(key); err == nil {
			t.Errorf("lookup(%s) = %q, want an error (nothing listens / no file / absent)", key, v)
		}
	}
}

// FuzzParse checks that Parse never panics and that what it accepts
// survives writing back.
func FuzzParse(f *testing.F) {
	f.Add([]byte("FW_INTEROP_WS=ws://127.0.0.1:1\n# c\n\nK=a=b\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := Parse(strings.NewReader(string(in)))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, k := range e.Keys() {
			if !validKey(k) {
				t.Fatalf("accepted key %q", k)
			}
			v, _ := e.Get(k)
			b.WriteString(k + "=" + v + "\r\n")
		}
		e2, err := Parse(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !slices.Equal(e.Keys(), e2.Keys()) {
			t.Fatalf("keys %v became %v", e.Keys(), e2.Keys())
		}
		for _, k := range e.Keys() {
			v1, _ := e.Get(k)
			v2, _ := e2.Get(k)
			if v1 != v2 {
				t.Fatalf("%s: %q became %q", k, v1, v2)
			}
		}
	})
}
