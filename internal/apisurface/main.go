package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// surface is what one package exports.
type surface struct {
	names  []string // top-level identifiers and Type.Method names
	fields int      // exported fields of exported struct types
}

func main() {
	verbose := flag.Bool("v", false, "list the identifiers")
	flag.Parse()
	root := "."
	if flag.NArg() > 0 {
		root = flag.Arg(0)
	}
	pkgs, err := scan(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apisurface:", err)
		os.Exit(1)
	}
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	total := 0
	fmt.Printf("%-12s %11s %7s\n", "package", "identifiers", "fields")
	for _, d := range dirs {
		s := pkgs[d]
		total += len(s.names)
		fmt.Printf("%-12s %11d %7d\n", d, len(s.names), s.fields)
		if *verbose {
			slices.Sort(s.names)
			for _, n := range s.names {
				fmt.Printf("    %s\n", n)
			}
		}
	}
	fmt.Printf("%-12s %11d\n", "total", total)
}

// scan parses the non-test files of every public package below root:
// directories named internal, testdata, cmd or interop (the test bed) or
// starting with a dot, and nested modules, are skipped.
func scan(root string) (map[string]*surface, error) {
	pkgs := map[string]*surface{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir
				}
				if strings.HasPrefix(name, ".") || name == "internal" || name == "testdata" || name == "cmd" || name == "interop" {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		s := pkgs[rel]
		if s == nil {
			s = &surface{}
			pkgs[rel] = s
		}
		s.add(f)
		return nil
	})
	return pkgs, err
}

// add records the exported declarations of one file.
func (s *surface) add(f *ast.File) {
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				s.names = append(s.names, d.Name.Name)
				continue
			}
			if recv := receiver(d.Recv.List[0].Type); ast.IsExported(recv) {
				s.names = append(s.names, recv+"."+d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch sp := spec.(type) {
				case *ast.TypeSpec:
					if !sp.Name.IsExported() {
						continue
					}
					s.names = append(s.names, sp.Name.Name)
					if st, ok := sp.Type.(*ast.StructType); ok {
						for _, fl := range st.Fields.List {
							for _, n := range fl.Names {
								if n.IsExported() {
									s.fields++
								}
							}
							if len(fl.Names) == 0 && ast.IsExported(receiver(fl.Type)) {
								s.fields++ // an embedded exported type
							}
						}
					}
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						if n.IsExported() {
							s.names = append(s.names, n.Name)
						}
					}
				}
			}
		}
	}
}

// receiver returns the type name of a receiver or embedded field
// expression: T, *T, T[P] or pkg.T.
func receiver(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiver(t.X)
	case *ast.IndexExpr:
		return receiver(t.X)
	case *ast.IndexListExpr:
		return receiver(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	}
	return ""
}
