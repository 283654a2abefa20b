package conformance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/framewire/ws/status"
)

// Verdict is the grade a case gives a client, spelled as the Autobahn
// testsuite spells it in its reports.
type Verdict string

// The verdicts. Behavior (what the client sent) is one of OK, NonStrict,
// Informational, Unimplemented or Failed; close behavior (how the connection
// ended) is one of OK, WrongCode, Unclean, FailedByClient, Informational or
// Failed.
const (
	OK             Verdict = "OK"
	NonStrict      Verdict = "NON-STRICT"
	WrongCode      Verdict = "WRONG CODE"
	Unclean        Verdict = "UNCLEAN"
	FailedByClient Verdict = "FAILED BY CLIENT"
	Informational  Verdict = "INFORMATIONAL"
	Unimplemented  Verdict = "UNIMPLEMENTED"
	Failed         Verdict = "FAILED"
)

// Overall folds a case's behavior and close behavior into the one verdict
// the summary counts. Autobahn shows both columns; a CI gate needs one:
//
//   - an informational case stays INFORMATIONAL whatever happened;
//   - FAILED behavior, or a close that is FAILED or UNCLEAN, is FAILED;
//   - a WRONG CODE close turns an OK behavior into NON-STRICT (Autobahn
//     colours that cell as non-strict);
//   - otherwise the behavior stands (OK, NON-STRICT or UNIMPLEMENTED).
func Overall(behavior, closeBehavior Verdict) Verdict {
	switch behavior {
	case Informational:
		return Informational
	case OK, NonStrict, Unimplemented:
	default:
		return Failed
	}
	switch closeBehavior {
	case OK, Informational:
		return behavior
	case WrongCode:
		if behavior == OK {
			return NonStrict
		}
		return behavior
	}
	return Failed
}

// EventKind says what a client did in an Event.
type EventKind string

// The kinds of Event, as Autobahn records them.
const (
	KindMessage EventKind = "message" // a whole text or binary message
	KindPing    EventKind = "ping"    // a ping from the client
	KindPong    EventKind = "pong"    // a pong from the client
	KindTimeout EventKind = "timeout" // a wait of the case ran out with the connection open
)

// Event is one thing the server observed during a case. A case's verdict
// compares the list of events it received with the lists it expects.
type Event struct {
	Kind    EventKind
	Payload []byte
	Binary  bool   // for KindMessage: a binary message rather than text
	Tag     string // for KindTimeout: which wait ran out
}

// Message returns the event of a whole message.
func Message(p []byte, binary bool) Event {
	return Event{Kind: KindMessage, Payload: p, Binary: binary}
}

// Text returns the event of a whole text message.
func Text(s string) Event { return Message([]byte(s), false) }

// Pong returns the event of a pong carrying p.
func Pong(p []byte) Event { return Event{Kind: KindPong, Payload: p} }

// Timeout returns the event of the wait named tag running out.
func Timeout(tag string) Event { return Event{Kind: KindTimeout, Tag: tag} }

// Equal reports whether e and o are the same event. Payloads compare by
// content; nil and empty are equal.
func (e Event) Equal(o Event) bool {
	return e.Kind == o.Kind && e.Binary == o.Binary && e.Tag == o.Tag && bytes.Equal(e.Payload, o.Payload)
}

// String formats e briefly: kind, then the payload (shortened) or tag.
func (e Event) String() string {
	switch e.Kind {
	case KindTimeout:
		return "timeout " + e.Tag
	case KindMessage:
		kind := "text"
		if e.Binary {
			kind = "binary"
		}
		return kind + " message " + shortPayload(e.Payload)
	}
	return string(e.Kind) + " " + shortPayload(e.Payload)
}

// MarshalJSON writes e with its payload shortened, so reports of large
// messages stay small.
func (e Event) MarshalJSON() ([]byte, error) {
	v := struct {
		Kind   EventKind `json:"type"`
		Len    *int      `json:"len,omitempty"`
		Data   string    `json:"data,omitempty"`
		Binary bool      `json:"binary,omitempty"`
		Tag    string    `json:"tag,omitempty"`
	}{Kind: e.Kind, Binary: e.Binary, Tag: e.Tag}
	if e.Kind != KindTimeout {
		n := len(e.Payload)
		v.Len = &n
		v.Data = shortPayload(e.Payload)
	}
	return json.Marshal(v)
}

// shortPayload shows up to 32 bytes of p: quoted when it is UTF-8, hex
// otherwise, with the total length when it is longer.
func shortPayload(p []byte) string {
	const limit = 32
	head := p
	if len(head) > limit {
		head = head[:limit]
	}
	var s string
	if utf8.Valid(p) || (len(p) > limit && utf8.Valid(head)) {
		s = strconv.Quote(string(head))
	} else {
		s = "0x" + hex.EncodeToString(head)
	}
	if len(p) > limit {
		s += fmt.Sprintf("... (%d bytes)", len(p))
	}
	return s
}

// Outcome is one list of events a case accepts, and the verdict it earns.
type Outcome struct {
	Verdict Verdict
	Events  []Event
}

// ExpectClose is what a case expects of the end of the connection
// (Autobahn's expectedClose).
type ExpectClose struct {
	// ClosedByMe: the server, not the client, starts the closing handshake
	// (or ends the connection).
	ClosedByMe bool `json:"closedByMe"`
	// Codes the client may send in its close frame; an empty close is
	// always accepted.
	Codes []status.Code `json:"closeCode"`
	// RequireClean: the closing handshake must complete (both close
	// frames exchanged).
	RequireClean bool `json:"requireClean"`
	// WrongEndpointFatal makes the behavior FAILED too when the wrong
	// endpoint closed: for invalid UTF-8 the client that never closes has
	// not noticed the error at all.
	WrongEndpointFatal bool `json:"closedByWrongEndpointIsFatal,omitempty"`
}

// Observation is what the server saw of how a connection ended.
type Observation struct {
	// Open: the opening handshake completed.
	Open bool `json:"open"`
	// ClosedByMe: the server sent the first close frame, or dropped the
	// connection because the client did not act in time.
	ClosedByMe bool `json:"closedByMe"`
	// WasClean: close frames went both ways before the connection ended.
	WasClean bool `json:"wasClean"`
	// RemoteCode is the code of the client's close frame; 0 when the client
	// sent none or an empty one.
	RemoteCode status.Code `json:"remoteCloseCode,omitempty"`
	// RemoteReason is the reason of the client's close frame.
	RemoteReason string `json:"remoteCloseReason,omitempty"`
	// Violation describes a protocol violation by the client (an unmasked
	// frame, invalid UTF-8 in its text, a bad close frame, ...); empty when
	// there was none.
	Violation string `json:"violation,omitempty"`
	// Note says how the connection ended, for the report.
	Note string `json:"note,omitempty"`
}

// Judgement is the verdict of one case run.
type Judgement struct {
	Behavior      Verdict `json:"behavior"`
	BehaviorClose Verdict `json:"behaviorClose"`
	Result        string  `json:"result"`
	ResultClose   string  `json:"resultClose"`
}

// Judge grades a run by Autobahn's rules. The behavior is the verdict of
// the first expected outcome whose events equal received; when none does,
// it stays preset (FAILED for most cases; cases that grade messages
// themselves, such as 9.x, preset their own). The close behavior checks,
// in order: that the opening handshake completed, that the expected
// endpoint closed, that the close was clean where required, and that the
// client's close code is one expected. A protocol violation by the client
// fails both the behavior and the close behavior.
func Judge(preset Judgement, outcomes []Outcome, exp ExpectClose, received []Event, obs Observation) Judgement {
	j := preset
	if j.Behavior == "" {
		j.Behavior = Failed
		j.Result = "Actual events differ from any expected."
	}
	for _, o := range outcomes {
		if slices.EqualFunc(received, o.Events, Event.Equal) {
			j.Behavior = o.Verdict
			j.Result = "Actual events match at least one expected."
			break
		}
	}
	switch {
	case !obs.Open:
		j.BehaviorClose = Failed
		j.ResultClose = "The WebSocket opening handshake was never completed."
		return j
	case obs.Violation != "":
		j.BehaviorClose = Failed
		j.ResultClose = "The client violated the protocol: " + obs.Violation
	case exp.ClosedByMe != obs.ClosedByMe:
		j.BehaviorClose = Failed
		j.ResultClose = "The connection was failed by the wrong endpoint"
	case exp.RequireClean && !obs.WasClean:
		j.BehaviorClose = Unclean
		j.ResultClose = "The spec requires the connection to be failed cleanly here"
	case obs.RemoteCode != 0 && !slices.Contains(exp.Codes, obs.RemoteCode):
		j.BehaviorClose = WrongCode
		codes := make([]string, len(exp.Codes))
		for i, c := range exp.Codes {
			codes[i] = strconv.Itoa(int(c))
		}
		j.ResultClose = fmt.Sprintf("The close code should have been %s or empty", strings.Join(codes, ","))
	default:
		j.BehaviorClose = OK
		j.ResultClose = "Connection was properly closed"
	}
	switch {
	case obs.Violation != "":
		j.Behavior = Failed
		j.Result = "The client violated the protocol."
	case exp.WrongEndpointFatal && exp.ClosedByMe != obs.ClosedByMe:
		j.Behavior = Failed
		j.Result = "The client did not fail the connection: it did not detect the error."
	}
	return j
}
