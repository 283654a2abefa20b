package bench

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws/wsutil"

	"github.com/framewire/ws/internal/utf8check"
)

// utf8Texts are the inputs of BenchmarkUTF8, each 64 KiB: pure ASCII, and
// JSON records whose strings mix ASCII with Cyrillic, CJK and emoji (about
// 70% of the characters ASCII).
var utf8Texts = []struct {
	name string
	unit string
}{
	{"ASCII", `{"id":12345,"user":"alice","text":"hello there, general","ok":true},`},
	{"Mixed", `{"id":12345,"user":"Алиса","text":"hello 世界, как дела? 😀 fine","ok":true},`},
}

func utf8Text(unit string) []byte {
	p := bytes.Repeat([]byte(unit), (64<<10)/len(unit)+1)
	return p[:64<<10-(64<<10)%len(unit)]
}

// BenchmarkUTF8 validates one received text of 64 KiB. gorilla, coder and
// gws call unicode/utf8.Valid on received text; gobwas streams it through
// wsutil.UTF8Reader. memmove copies the same bytes, the floor for a pass
// over them.
func BenchmarkUTF8(b *testing.B) {
	for _, t := range utf8Texts {
		p := utf8Text(t.unit)
		if !utf8.Valid(p) {
			b.Fatalf("%s: not valid UTF-8", t.name)
		}
		run := func(name string, valid func() bool) {
			b.Run(t.name+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(p)))
				b.ReportAllocs()
				for b.Loop() {
					if !valid() {
						b.Fatal("rejected")
					}
				}
			})
		}
		run("framewire", func() bool { return utf8check.Valid(p) })
		run("unicode-utf8", func() bool { return utf8.Valid(p) })
		var src bytes.Reader
		u := wsutil.NewUTF8Reader(&src)
		buf := make([]byte, 4<<10)
		run("gobwas", func() bool {
			src.Reset(p)
			u.Reset(&src)
			for {
				_, err := u.Read(buf)
				if err != nil {
					return u.Valid()
				}
			}
		})
		dst := make([]byte, len(p))
		run("memmove", func() bool { copy(dst, p); return true })
	}
}
