package selfsigned_test

import (
	"crypto/x509"
	"fmt"

	"github.com/framewire/ws/internal/selfsigned"
)

// A client trusts the certificate by adding it to its roots.
func ExampleCertificate() {
	cert, err := selfsigned.Certificate("example")
	if err != nil {
		fmt.Println(err)
		return
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	_, err = cert.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots})
	fmt.Println(err)
	// Output: <nil>
}
