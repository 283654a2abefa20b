package conformance

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// corpus is the data a case of sections 12 and 13 sends, in slices taken
// one after the other and wrapping around, as Autobahn takes them from its
// test files. framewire generates its corpora, of the same kinds and about
// the same size, from fixed seeds.
type corpus struct {
	desc   string // Autobahn's description of its file
	binary bool   // sent as binary messages
	data   func() []byte
}

// corpora are Autobahn's five test data sets, in the order of cases 12.1
// to 12.5. The text ones are ASCII so that every slice is valid UTF-8.
var corpora = []corpus{
	{"Large JSON data file", false, sync.OnceValue(jsonCorpus)},
	{"Lena Picture, Bitmap 512x512 bw", true, sync.OnceValue(bitmapCorpus)},
	{"Human readable text, Goethe's Faust I (German)", true, sync.OnceValue(germanCorpus)},
	{"Large HTML file", false, sync.OnceValue(htmlCorpus)},
	{"A larger PDF", true, sync.OnceValue(pdfCorpus)},
}

// corpusSize is the size of the generated text corpora, about Autobahn's
// JSON file's.
const corpusSize = 192 << 10

func seeded(n uint64) *rand.Rand { return rand.New(rand.NewPCG(n, 0x6672616d65776972)) }

var jsonWords = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu")

// jsonCorpus is an array of records as an API might return them.
func jsonCorpus() []byte {
	rng := seeded(1)
	b := []byte("[\n")
	for i := 0; len(b) < corpusSize; i++ {
		w := func() string { return jsonWords[rng.IntN(len(jsonWords))] }
		b = fmt.Appendf(b, `  {"id": %d, "name": "%s %s", "email": "%s.%s@example.com", "active": %v, "score": %.3f, "tags": ["%s", "%s"], "address": {"street": "%d %s street", "zip": "%05d"}},`+"\n",
			i, w(), w(), w(), w(), rng.IntN(2) == 0, rng.Float64()*100, w(), w(), rng.IntN(999)+1, w(), rng.IntN(100000))
	}
	return append(b, "  {}\n]\n"...)
}

// bitmapCorpus is a 512x512 8-bit greyscale BMP of smooth shapes with
// noise, compressible as a photograph is.
func bitmapCorpus() []byte {
	const w, h, palette = 512, 512, 256 * 4
	const offset = 14 + 40 + palette
	b := make([]byte, 0, offset+w*h)
	b = append(b, 'B', 'M')
	b = binary.LittleEndian.AppendUint32(b, offset+w*h)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, offset)
	for _, v := range []uint32{40, w, h} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 8)
	for _, v := range []uint32{0, w * h, 2835, 2835, 256, 0} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for i := range 256 {
		b = append(b, byte(i), byte(i), byte(i), 0)
	}
	rng := seeded(2)
	for y := range h {
		for x := range w {
			dx, dy := x-200, y-300
			v := (x+y)/4 + 64*((dx*dx+dy*dy)/9000%2) + rng.IntN(12)
			b = append(b, byte(min(v, 255)))
		}
	}
	return b
}

var germanWords = strings.Fields("der die das und ich nicht ist zu ein es mich mir du sich so mit wie was auf dem den ihr mein doch nur noch da auch wenn Geist Welt Herz Nacht Licht Teufel Himmel Erde Seele schön Mädchen Gretchen Faust Mephistopheles Schüler Weisheit Natur träumt fühlt kühn süß Grüße Füße Größe groß heißt weiß Küsse")

// germanCorpus is verse of German words, umlauts and ß included.
func germanCorpus() []byte {
	rng := seeded(3)
	var b []byte
	for len(b) < corpusSize {
		if rng.IntN(12) == 0 {
			b = append(b, "\nFAUST:\n"...)
		}
		n := 4 + rng.IntN(6)
		for i := range n {
			w := germanWords[rng.IntN(len(germanWords))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b = append(b, w...)
			if i < n-1 {
				b = append(b, ' ')
			}
		}
		b = append(b, ",.;!?"[rng.IntN(5)], '\n')
	}
	return b
}

// htmlCorpus is a long page of nested markup.
func htmlCorpus() []byte {
	rng := seeded(4)
	b := []byte("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Data</title></head>\n<body>\n")
	for i := 0; len(b) < corpusSize; i++ {
		w := func() string { return jsonWords[rng.IntN(len(jsonWords))] }
		b = fmt.Appendf(b, "<div class=\"row %s\" id=\"r%d\">\n  <h2>%s %s</h2>\n  <p>The <a href=\"/%s/%d.html\">%s</a> of %s is <em>%d</em>.</p>\n  <ul><li>%s</li><li>%s</li></ul>\n</div>\n",
			w(), i, w(), w(), w(), rng.IntN(1000), w(), w(), rng.IntN(10000), w(), w())
	}
	return append(b, "</body>\n</html>\n"...)
}

// pdfCorpus is a PDF-like file: text objects between streams of
// incompressible bytes, as embedded images and fonts are.
func pdfCorpus() []byte {
	rng := seeded(5)
	b := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for i := 1; len(b) < corpusSize; i++ {
		if i%3 == 0 {
			n := 1024 + rng.IntN(4096)
			b = fmt.Appendf(b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", i, n)
			for range n {
				b = append(b, byte(rng.Uint32()))
			}
			b = append(b, "\nendstream\nendobj\n"...)
			continue
		}
		b = fmt.Appendf(b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>\nBT /F1 12 Tf 72 %d Td (%s %s) Tj ET\nendobj\n",
			i, i+1, 700-i%50*12, jsonWords[rng.IntN(len(jsonWords))], jsonWords[rng.IntN(len(jsonWords))])
	}
	return append(b, "%%EOF\n"...)
}
