// Command apisurface prints the exported identifiers of each public package
// of the module: its top-level constants, variables, types and functions,
// and the exported methods of its exported types. Exported struct fields
// are counted apart. `make api` runs it from the module root.
//
// Usage:
//
//	go run ./internal/apisurface [-v] [root]
//
// With -v it lists the identifiers, one a line, under each package's count.
package main
