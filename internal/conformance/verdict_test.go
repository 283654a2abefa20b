package conformance

import (
	"net"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/framewire/ws/status"
)

func TestJudge(t *testing.T) {
	echoed := []Outcome{{OK, []Event{Text("hi")}}}
	failFast := []Outcome{{OK, []Event{Timeout("A")}}, {NonStrict, []Event{Timeout("A"), Timeout("B")}}}
	normal := ExpectClose{ClosedByMe: true, Codes: []status.Code{1000}, RequireClean: true}
	clientFails := ExpectClose{Codes: []status.Code{1007}, WrongEndpointFatal: true}
	clean := Observation{Open: true, ClosedByMe: true, WasClean: true, RemoteCode: 1000}
	tests := []struct {
		name      string
		preset    Judgement
		outcomes  []Outcome
		exp       ExpectClose
		received  []Event
		obs       Observation
		behavior  Verdict
		closeVerd Verdict
	}{
		{"echo and clean close", Judgement{}, echoed, normal, []Event{Text("hi")}, clean, OK, OK},
		{"empty close reply", Judgement{}, echoed, normal, []Event{Text("hi")}, Observation{Open: true, ClosedByMe: true, WasClean: true}, OK, OK},
		{"wrong payload", Judgement{}, echoed, normal, []Event{Text("ho")}, clean, Failed, OK},
		{"binary instead of text", Judgement{}, echoed, normal, []Event{Message([]byte("hi"), true)}, clean, Failed, OK},
		{"unclean", Judgement{}, echoed, normal, []Event{Text("hi")}, Observation{Open: true, ClosedByMe: true}, OK, Unclean},
		{"wrong code", Judgement{}, echoed, normal, []Event{Text("hi")}, Observation{Open: true, ClosedByMe: true, WasClean: true, RemoteCode: 1001}, OK, WrongCode},
		{"wrong endpoint", Judgement{}, echoed, normal, []Event{Text("hi")}, Observation{Open: true, WasClean: true, RemoteCode: 1000}, OK, Failed},
		{"never opened", Judgement{}, echoed, normal, nil, Observation{}, Failed, Failed},
		{"violation", Judgement{}, echoed, normal, []Event{Text("hi")}, Observation{Open: true, ClosedByMe: true, WasClean: true, Violation: "unmasked"}, Failed, Failed},
		{"fail fast", Judgement{}, failFast, clientFails, []Event{Timeout("A")}, Observation{Open: true, RemoteCode: 1007}, OK, OK},
		{"fail late", Judgement{}, failFast, clientFails, []Event{Timeout("A"), Timeout("B")}, Observation{Open: true, RemoteCode: 1007}, NonStrict, OK},
		{"fail by dropping TCP", Judgement{}, failFast, clientFails, []Event{Timeout("A")}, Observation{Open: true}, OK, OK},
		{"never fails", Judgement{}, failFast, clientFails, []Event{Timeout("A"), Timeout("B")}, Observation{Open: true, ClosedByMe: true}, Failed, Failed},
		{"preset kept", Judgement{Behavior: Unimplemented, Result: "x"}, nil, normal, nil, clean, Unimplemented, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := Judge(tt.preset, tt.outcomes, tt.exp, tt.received, tt.obs)
			if j.Behavior != tt.behavior || j.BehaviorClose != tt.closeVerd {
				t.Errorf("Judge = %s/%s (%s; %s), want %s/%s", j.Behavior, j.BehaviorClose, j.Result, j.ResultClose, tt.behavior, tt.closeVerd)
			}
		})
	}
}

func TestOverall(t *testing.T) {
	tests := []struct{ behavior, close, want Verdict }{
		{OK, OK, OK},
		{OK, WrongCode, NonStrict},
		{OK, Unclean, Failed},
		{OK, Failed, Failed},
		{NonStrict, OK, NonStrict},
		{Failed, OK, Failed},
		{Informational, Failed, Informational},
		{Unimplemented, OK, Unimplemented},
		{Unimplemented, Unclean, Failed},
		{"", OK, Failed},
	}
	for _, tt := range tests {
		if got := Overall(tt.behavior, tt.close); got != tt.want {
			t.Errorf("Overall(%s, %s) = %s, want %s", tt.behavior, tt.close, got, tt.want)
		}
	}
}

func TestSelect(t *testing.T) {
	all := Catalogue()
	tests := []struct {
		include, exclude string
		want             int
	}{
		{"", "", 517},
		{"*", "12.*,13.*", 301},
		{"1.*", "", 16},
		{"1.*,2.1", "", 17},
		{"2.1", "", 1},
		{"2.1*", "", 3}, // 2.1, 2.10, 2.11
		{"6.4.*", "", 4},
		{"6.*.1", "", 23},
		{"7.7.*", "", 13},
		{"7.9.*", "", 9},
		{"9.*", "", 54},
		{"nothing", "", 0},
	}
	for _, tt := range tests {
		if got := len(Select(all, tt.include, tt.exclude)); got != tt.want {
			t.Errorf("Select(%q, %q) has %d cases, want %d", tt.include, tt.exclude, got, tt.want)
		}
	}
}

func TestCatalogue(t *testing.T) {
	want := map[string]int{"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "12": 90, "13": 126}
	got := map[string]int{}
	seen := map[string]bool{}
	for _, c := range Catalogue() {
		if seen[c.ID] {
			t.Errorf("case %s twice", c.ID)
		}
		seen[c.ID] = true
		got[Section(c.ID)]++
		if c.Description == "" || c.Expectation == "" || c.run == nil {
			t.Errorf("case %s is incomplete", c.ID)
		}
	}
	for s, n := range want {
		if got[s] != n {
			t.Errorf("section %s has %d cases, want %d", s, got[s], n)
		}
	}
	for _, id := range []string{"1.1.8", "2.11", "3.7", "4.2.5", "5.20", "6.4.4", "6.22.34", "6.23.7", "7.13.2", "9.8.6", "10.1.1", "12.5.18", "13.7.18"} {
		if !seen[id] {
			t.Errorf("case %s missing", id)
		}
	}
}

// The validity of every sequence of 6.5 to 6.23 agrees with Go's decoder.
func TestUTF8Table(t *testing.T) {
	n := 0
	for g, group := range utf8Groups() {
		for i, s := range group.seqs {
			n++
			if utf8.ValidString(s.p) != s.valid {
				t.Errorf("6.%d.%d %x: valid = %v in the table", g+5, i+1, s.p, s.valid)
			}
		}
	}
	if n != 132 {
		t.Errorf("%d sequences, want 132", n)
	}
}

// FuzzClientInput feeds arbitrary bytes to the server as a client's frames
// during case 1.1.1: the server must judge without panicking or hanging.
func FuzzClientInput(f *testing.F) {
	f.Add([]byte{0x81, 0x80, 0, 0, 0, 0})                               // empty masked text
	f.Add([]byte{0x81, 0x00})                                           // unmasked text
	f.Add([]byte{0x88, 0x82, 1, 2, 3, 4, 0x02, 0xea})                   // masked close 1000
	f.Add([]byte{0x01, 0x81, 0, 0, 0, 0, 0xce, 0x80, 0x81, 0, 0, 0, 0}) // fragments, split character
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		server, client := net.Pipe()
		go func() {
			client.Write(in)
			client.Close()
		}()
		go func() { // drain what the server sends
			b := make([]byte, 4096)
			for {
				if _, err := client.Read(b); err != nil {
					return
				}
			}
		}()
		var c Case
		for _, x := range Catalogue() {
			if x.ID == "1.1.1" {
				c = x
			}
		}
		tr := newTrial(server, newReader(server), 0.01, 1<<20)
		j, _, _, _, _ := tr.run(c.run, 10*time.Second)
		switch Overall(j.Behavior, j.BehaviorClose) {
		case OK, NonStrict, Failed:
		default:
			t.Fatalf("unexpected verdict %s/%s", j.Behavior, j.BehaviorClose)
		}
	})
}
