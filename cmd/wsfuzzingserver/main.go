package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/framewire/ws/internal/conformance"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	cases := flag.String("cases", "", `case ID patterns to run, e.g. "1.*,2.1" (default all)`)
	exclude := flag.String("exclude", "", "case ID patterns to leave out")
	report := flag.String("report", "reports", "directory for conformance.json and conformance.md")
	scale := flag.Float64("scale", 1, "multiplier of every wait of every case")
	messages := flag.Int("messages", 1000, "messages per case of sections 12 and 13")
	flag.Parse()

	srv, err := conformance.NewServer(conformance.Options{Cases: *cases, Exclude: *exclude, ReportDir: *report, Scale: *scale, Messages: *messages})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(shut)
	}()
	fmt.Printf("fuzzing server: %d cases on ws://%s (reports in %s)\n", len(srv.Cases()), ln.Addr(), *report)
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	srv.Wait()
}
