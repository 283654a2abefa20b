package docexamples_test

import (
	"os"
	"strings"
	"testing"
)

// TestSnippetsCompiled checks that every fenced Go block of
// docs/migrating.md is an excerpt of this package's examples: the same
// lines, in the same order and next to each other, once indentation is
// set aside. A snippet edited in the guide alone, or code changed here
// alone, fails it.
func TestSnippetsCompiled(t *testing.T) {
	doc, err := os.ReadFile("../../docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("migrating_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := "\n" + strings.Join(lines(string(src)), "\n") + "\n"
	blocks := goBlocks(string(doc))
	if len(blocks) == 0 {
		t.Fatal("no Go block found in docs/migrating.md")
	}
	for _, b := range blocks {
		if !strings.Contains(code, "\n"+strings.Join(lines(b), "\n")+"\n") {
			t.Errorf("docs/migrating.md: this Go block is not in migrating_test.go:\n%s", b)
		}
	}
}

// goBlocks returns the bodies of the ```go fences of a Markdown text.
func goBlocks(md string) []string {
	var blocks []string
	for {
		_, rest, ok := strings.Cut(md, "```go\n")
		if !ok {
			return blocks
		}
		body, after, ok := strings.Cut(rest, "```")
		if !ok {
			return blocks
		}
		blocks = append(blocks, body)
		md = after
	}
}

// lines returns the non-blank lines of s without their leading and
// trailing white space, and with runs of spaces and tabs made one space,
// so that gofmt's alignment of comments does not count.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

func TestGoBlocks(t *testing.T) {
	md := "text\n```go\na := 1\n```\n```sh\nls\n```\n```go\n\tb\n\n  c\n```\n"
	got := goBlocks(md)
	if len(got) != 2 || got[0] != "a := 1\n" || got[1] != "\tb\n\n  c\n" {
		t.Fatalf("goBlocks = %q", got)
	}
	if l := lines(got[1]); len(l) != 2 || l[0] != "b" || l[1] != "c" {
		t.Fatalf("lines = %q", l)
	}
}
