package xconnect_test

import (
	"os"
	"strings"
	"testing"

	"github.com/framewire/ws/internal/xconnect"
)

func TestMain(m *testing.M) {
	if status, ran := xconnect.Reexec(); ran {
		os.Exit(status)
	}
	os.Exit(m.Run())
}

// After Reexec the tests run in a process that started with Env.
func TestReexecSetsEnv(t *testing.T) {
	if !xconnect.Enabled() {
		t.Fatal("Enabled() = false after Reexec")
	}
	if got := os.Getenv("GODEBUG"); !strings.Contains(got, xconnect.Env) {
		t.Fatalf("GODEBUG = %q, want it to hold %q", got, xconnect.Env)
	}
}
