package conformance_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/framewire/ws/internal/conformance"
	"github.com/framewire/ws/status"
)

func ExampleJudge() {
	j := conformance.Judge(conformance.Judgement{},
		[]conformance.Outcome{
			{Verdict: conformance.OK, Events: []conformance.Event{conformance.Timeout("A")}},
			{Verdict: conformance.NonStrict, Events: []conformance.Event{conformance.Timeout("A"), conformance.Timeout("B")}},
		},
		conformance.ExpectClose{Codes: []status.Code{status.InvalidPayload}},
		[]conformance.Event{conformance.Timeout("A"), conformance.Timeout("B")},
		conformance.Observation{Open: true, RemoteCode: status.InvalidPayload})
	fmt.Println(j.Behavior, j.BehaviorClose, conformance.Overall(j.Behavior, j.BehaviorClose))
	// Output: NON-STRICT OK NON-STRICT
}

func ExampleSelect() {
	for _, c := range conformance.Select(conformance.Catalogue(), "6.4.*,7.13.*", "") {
		fmt.Println(c.ID, conformance.SectionName(conformance.Section(c.ID)))
	}
	// Output:
	// 6.4.1 UTF-8 Handling
	// 6.4.2 UTF-8 Handling
	// 6.4.3 UTF-8 Handling
	// 6.4.4 UTF-8 Handling
	// 7.13.1 Close Handling
	// 7.13.2 Close Handling
}

// A fuzzing server for the framing cases, on a loopback port. A client's
// echo agent asks ws://ADDR/getCaseCount, runs ws://ADDR/runCase?case=N&agent=NAME
// for each case and ends with ws://ADDR/updateReports?agent=NAME.
func ExampleNewServer() {
	srv, err := conformance.NewServer(conformance.Options{Cases: "1.*", Scale: 0.1})
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	fmt.Println(len(srv.Cases()), "cases")
	// Output: 16 cases
}
