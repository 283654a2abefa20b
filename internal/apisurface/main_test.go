package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestScan(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"p/p.go": `package p
const A, b = 1, 2
var V int
type T struct{ X, y int; Embedded; *Ptr }
type u struct{ Z int }
func F() {}
func g() {}
func (T) M() {}
func (*T) N() {}
func (u) O() {}
func (T) p() {}
type G[K any] struct{}
func (G[K]) H() {}
type Embedded int
type Ptr int
`,
		"p/p_test.go":     "package p\nfunc TestX() {}\n",
		"internal/i/i.go": "package i\nfunc Hidden() {}\n",
		"cmd/c/main.go":   "package main\nfunc Main() {}\n",
		"nested/go.mod":   "module x\n",
		"nested/n.go":     "package n\nfunc N() {}\n",
		"q/doc.go":        "// Package q.\npackage q\n",
		"q/q.go":          "package q\ntype (\n\tI interface{ M() }\n)\n",
		"testdata/t/t.go": "package t\nfunc T() {}\n",
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs, err := scan(root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"p": {"A", "Embedded", "F", "G", "G.H", "Ptr", "T", "T.M", "T.N", "V"},
		"q": {"I"},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("packages %v, want %v", keys(pkgs), want)
	}
	for dir, names := range want {
		s := pkgs[dir]
		if s == nil {
			t.Fatalf("package %s missing", dir)
		}
		got := slices.Sorted(slices.Values(s.names))
		if !slices.Equal(got, names) {
			t.Errorf("%s: %v, want %v", dir, got, names)
		}
	}
	if got := pkgs["p"].fields; got != 3 {
		t.Errorf("p: %d fields, want 3 (X, Embedded, Ptr)", got)
	}
}

func keys(m map[string]*surface) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
