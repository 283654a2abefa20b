package conformance

// utf8Group is one subsection of cases 6.5 to 6.23: byte sequences from
// Markus Kuhn's UTF-8 decoder stress test, each sent as one text message.
// A valid one must be echoed; an invalid one must make the client fail the
// connection with 1007.
type utf8Group struct {
	title string
	seqs  []utf8Seq
}

type utf8Seq struct {
	valid bool
	p     string
}

// greek is "κόσμε", the stress test's sample of correct UTF-8.
const greek = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

// utf8Groups returns the subsections 6.5 to 6.23 in order.
func utf8Groups() []utf8Group {
	v := func(p string) utf8Seq { return utf8Seq{true, p} }
	x := func(p string) utf8Seq { return utf8Seq{false, p} }

	var prefixes []utf8Seq // every prefix of greek; valid when it ends on a code point
	for i := 1; i <= len(greek); i++ {
		ends := i == len(greek) || greek[i]&0xc0 != 0x80
		prefixes = append(prefixes, utf8Seq{ends, greek[:i]})
	}

	run := func(from, to byte, sep string) string { // bytes from..to-1, each followed by sep
		var b []byte
		for c := int(from); c < int(to); c++ {
			b = append(b, byte(c))
			b = append(b, sep...)
		}
		return string(b)
	}

	missing := []string{ // sequences with their last continuation byte missing
		"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf",
	}
	var missingSeqs []utf8Seq
	concat := ""
	for _, m := range missing {
		missingSeqs = append(missingSeqs, x(m))
		concat += m
	}

	// Noncharacters: EF BF BE/BF, and F0-F4 xF BF BE/BF below U+110000,
	// leaving out the overlong F0 8F forms.
	nonchars := []utf8Seq{v("\xef\xbf\xbe"), v("\xef\xbf\xbf")}
	for _, z1 := range []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		for _, z2 := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if z1 == 0xf4 && z2 != 0x8f {
				continue
			}
			if z1 == 0xf0 && z2 == 0x8f {
				continue
			}
			for _, z3 := range []byte{0xbe, 0xbf} {
				nonchars = append(nonchars, v(string([]byte{z1, z2, 0xbf, z3})))
			}
		}
	}

	return []utf8Group{
		{"Some valid UTF-8 sequences", []utf8Seq{
			v("hello\x24world"), v("hello\xc2\xa2world"), v("hello\xe2\x82\xacworld"),
			v("hello\xf0\xa4\xad\xa2world"), v(greek),
		}},
		{"All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes},
		{"First possible sequence of a certain length", []utf8Seq{
			v("\x00"), v("\xc2\x80"), v("\xe0\xa0\x80"), v("\xf0\x90\x80\x80"),
		}},
		{"First possible sequence length 5/6 (invalid codepoints)", []utf8Seq{
			x("\xf8\x88\x80\x80\x80"), x("\xfc\x84\x80\x80\x80\x80"),
		}},
		{"Last possible sequence of a certain length", []utf8Seq{
			v("\x7f"), v("\xdf\xbf"), v("\xef\xbf\xbf"), v("\xf4\x8f\xbf\xbf"),
		}},
		{"Last possible sequence length 4/5/6 (invalid codepoints)", []utf8Seq{
			x("\xf7\xbf\xbf\xbf"), x("\xfb\xbf\xbf\xbf\xbf"), x("\xfd\xbf\xbf\xbf\xbf\xbf"),
		}},
		{"Other boundary conditions", []utf8Seq{
			v("\xed\x9f\xbf"), v("\xee\x80\x80"), v("\xef\xbf\xbd"), v("\xf4\x8f\xbf\xbf"), x("\xf4\x90\x80\x80"),
		}},
		{"Unexpected continuation bytes", []utf8Seq{
			x("\x80"), x("\xbf"), x("\x80\xbf"), x("\x80\xbf\x80"), x("\x80\xbf\x80\xbf"),
			x("\x80\xbf\x80\xbf\x80"), x("\x80\xbf\x80\xbf\x80\xbf"), x(run(0x80, 0xbf, "")),
		}},
		{"Lonely start characters", []utf8Seq{
			x(run(0xc0, 0xdf, " ")), x(run(0xe0, 0xef, " ")), x(run(0xf0, 0xf7, " ")),
			x(run(0xf8, 0xfb, " ")), x(run(0xfc, 0xfd, " ")),
		}},
		{"Sequences with last continuation byte missing", missingSeqs},
		{"Concatenation of incomplete sequences", []utf8Seq{x(concat)}},
		{"Impossible bytes", []utf8Seq{x("\xfe"), x("\xff"), x("\xfe\xfe\xff\xff")}},
		{"Examples of an overlong ASCII character", []utf8Seq{
			x("\xc0\xaf"), x("\xe0\x80\xaf"), x("\xf0\x80\x80\xaf"), x("\xf8\x80\x80\x80\xaf"), x("\xfc\x80\x80\x80\x80\xaf"),
		}},
		{"Maximum overlong sequences", []utf8Seq{
			x("\xc1\xbf"), x("\xe0\x9f\xbf"), x("\xf0\x8f\xbf\xbf"), x("\xf8\x87\xbf\xbf\xbf"), x("\xfc\x83\xbf\xbf\xbf\xbf"),
		}},
		{"Overlong representation of the NUL character", []utf8Seq{
			x("\xc0\x80"), x("\xe0\x80\x80"), x("\xf0\x80\x80\x80"), x("\xf8\x80\x80\x80\x80"), x("\xfc\x80\x80\x80\x80\x80"),
		}},
		{"Single UTF-16 surrogates", []utf8Seq{
			x("\xed\xa0\x80"), x("\xed\xad\xbf"), x("\xed\xae\x80"), x("\xed\xaf\xbf"),
			x("\xed\xb0\x80"), x("\xed\xbe\x80"), x("\xed\xbf\xbf"),
		}},
		{"Paired UTF-16 surrogates", []utf8Seq{
			x("\xed\xa0\x80\xed\xb0\x80"), x("\xed\xa0\x80\xed\xbf\xbf"), x("\xed\xad\xbf\xed\xb0\x80"),
			x("\xed\xad\xbf\xed\xbf\xbf"), x("\xed\xae\x80\xed\xb0\x80"), x("\xed\xae\x80\xed\xbf\xbf"),
			x("\xed\xaf\xbf\xed\xb0\x80"), x("\xed\xaf\xbf\xed\xbf\xbf"),
		}},
		{"Non-character code points (valid UTF-8)", nonchars},
		{"Unicode specials (i.e. replacement char)", []utf8Seq{
			v("\xef\xbf\xb9"), v("\xef\xbf\xba"), v("\xef\xbf\xbb"), v("\xef\xbf\xbc"),
			v("\xef\xbf\xbd"), v("\xef\xbf\xbe"), v("\xef\xbf\xbf"),
		}},
	}
}
