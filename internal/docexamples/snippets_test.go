package docexamples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSnippetsCompiled checks that every fenced Go block of README.md and
// of the guides in docs/ is an excerpt of this package's tests: the same
// lines, in the same order and next to each other, once indentation is
// set aside. docs/migrating.md's blocks are in migrating_test.go, the
// others in guides_test.go. A snippet edited in a guide alone, or code
// changed here alone, fails it, as does a new guide with a Go block.
func TestSnippetsCompiled(t *testing.T) {
	guides, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	guides = append(guides, "../../README.md")
	src := map[string]string{}
	for _, f := range []string{"migrating_test.go", "guides_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src[f] = "\n" + strings.Join(lines(string(b)), "\n") + "\n"
	}
	checked := 0
	for _, g := range guides {
		doc, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		in := "guides_test.go"
		if filepath.Base(g) == "migrating.md" {
			in = "migrating_test.go"
		}
		for _, b := range goBlocks(string(doc)) {
			checked++
			if !strings.Contains(src[in], "\n"+strings.Join(lines(b), "\n")+"\n") {
				t.Errorf("%s: this Go block is not in %s:\n%s", g, in, b)
			}
		}
	}
	if checked < 18 {
		t.Errorf("%d Go blocks found in README.md and docs/*.md, want at least 18", checked)
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
