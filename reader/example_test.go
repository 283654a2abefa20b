package reader_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/reader"
)

func ExampleReader_ReadFrame() {
	// RFC 6455 §5.7: "Hel" and "lo" as two fragments, then a ping.
	in := []byte{0x01, 0x03, 'H', 'e', 'l', 0x80, 0x02, 'l', 'o', 0x89, 0x00}
	r := reader.New(bytes.NewReader(in))
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(f)
	}
	// Output:
	// text fin=false len=3 data="Hel"
	// cont fin=true len=2 data="lo"
	// ping fin=true len=0 data=""
}

func ExampleReader_ReadHeader() {
	// A masked frame read in the server role, its payload streamed.
	in := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	r := reader.New(bytes.NewReader(in))
	r.Server = true
	h, err := r.ReadHeader()
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, err := io.ReadAll(r)
	fmt.Println(h.Opcode, h.Length, string(payload), err)
	// Output:
	// text 5 Hello <nil>
}

func ExampleReader_errors() {
	// A client must reject a masked frame: close code 1002.
	in := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	_, err := reader.New(bytes.NewReader(in)).ReadFrame()
	var fe *frame.Error
	fmt.Println(err, errors.As(err, &fe), uint16(fe.Code))
	// Output:
	// reader: masked frame from a server true 1002
}
