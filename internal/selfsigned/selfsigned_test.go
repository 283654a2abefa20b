package selfsigned_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"testing"
	"time"

	"github.com/framewire/ws/internal/selfsigned"
)

// The certificate verifies, as its own root, for each loopback name, at
// a synctest bubble's start and today, and for nothing else.
func TestCertificate(t *testing.T) {
	cert, err := selfsigned.Certificate("test")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"127.0.0.1", time.Now(), true},
		{"::1", time.Now(), true},
		{"localhost", time.Now(), true},
		{"127.0.0.1", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"example.com", time.Now(), false},
		{"127.0.0.1", time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		_, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: tt.name, Roots: roots, CurrentTime: tt.at})
		if (err == nil) != tt.ok {
			t.Errorf("Verify(%s at %v) = %v, want ok %v", tt.name, tt.at, err, tt.ok)
		}
	}
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.Leaf.PublicKey) {
		t.Error("the private key does not match the certificate")
	}
}
