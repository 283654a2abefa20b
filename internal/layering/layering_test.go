package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/framewire/ws"

// allowed lists, for each package of the module, the module's packages its
// non-test files may import. Dependencies point one way, downwards, as RFC
// 6455 is layered: codes and masking, then frames, then reading and
// reassembly, then the handshake and the client.
var allowed = map[string][]string{
	"status":                 {},
	"mask":                   {},
	"handshake":              {},
	"internal/utf8check":     {},
	"internal/layering":      {},
	"internal/docexamples":   {},
	"internal/apisurface":    {},
	"internal/leakcheck":     {},
	"internal/proxytest":     {},
	"internal/childproc":     {},
	"internal/bind":          {},
	"internal/deflate":       {},
	"internal/grow":          {},
	"internal/selfsigned":    {},
	"proxy":                  {"internal/bind"},
	"internal/pyrepr":        {"frame"},
	"frame":                  {"mask", "status"},
	"reader":                 {"frame", "mask", "status", "internal/grow"},
	"fragment":               {"frame", "status", "internal/grow", "internal/utf8check"},
	"internal/conformance":   {"frame", "mask", "status", "handshake", "reader", "fragment", "internal/utf8check", "internal/xconnect", "internal/deflate", "internal/selfsigned"},
	"internal/xconnect":      {},
	"conn":                   {"frame", "mask", "status", "reader", "fragment", "handshake", "proxy", "internal/bind", "internal/grow", "internal/utf8check", "internal/pyrepr", "internal/deflate"},
	"app":                    {"conn", "frame", "mask", "status", "reader", "fragment", "handshake", "proxy"},
	"wstest":                 {"conn", "frame", "mask", "status", "reader", "fragment", "handshake", "proxy", "internal/utf8check", "internal/pyrepr", "internal/selfsigned"},
	"internal/h2test":        {"conn", "internal/xconnect"},
	"interop":                {},
	"interop/servers/h2echo": {},
}

// external reports whether a non-module import is allowed: the standard
// library, golang.org/x/net and golang.org/x/sys.
func external(imp string, test bool) bool {
	first, _, _ := strings.Cut(imp, "/")
	switch {
	case !strings.Contains(first, "."):
		return true
	case strings.HasPrefix(imp, "golang.org/x/net/"), strings.HasPrefix(imp, "golang.org/x/sys/"):
		return true
	case test && strings.HasPrefix(imp, "github.com/google/go-cmp/"):
		return true
	}
	return false
}

func TestLayering(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal("module root not found:", err)
	}
	imports := map[string]map[string]bool{} // package dir -> module imports of non-test files
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || fileExists(filepath.Join(p, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		test := strings.HasSuffix(name, "_test.go")
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if imports[rel] == nil {
			imports[rel] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if own, ok := strings.CutPrefix(imp, module+"/"); ok {
				if strings.HasPrefix(own, "cmd/") || own == "cmd" {
					t.Errorf("%s: imports %s: nothing imports cmd", path.Join(rel, name), imp)
				}
				if !test {
					imports[rel][own] = true
				}
				continue
			}
			if !external(imp, test) {
				t.Errorf("%s: imports %s, which is not an allowed dependency", path.Join(rel, name), imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg, imps := range imports {
		if pkg == "." {
			continue
		}
		if strings.HasPrefix(pkg, "cmd/") {
			continue // commands may import any package but cmd
		}
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not in the layering table", pkg)
			continue
		}
		for imp := range imps {
			if !slices.Contains(ok, imp) {
				t.Errorf("package %s imports %s; allowed: %v", pkg, imp, ok)
			}
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
