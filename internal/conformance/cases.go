package conformance

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/framewire/ws/frame"
	"github.com/framewire/ws/status"
)

// Case is one test case of the catalogue: what the fuzzing server sends to
// the client and what it expects back. IDs and contents follow the Autobahn
// testsuite's fuzzing server cases.
type Case struct {
	ID          string // "1.1.1", numbered as Autobahn numbers it
	Description string // what the server sends
	Expectation string // what a conforming client does
	// ReportTime marks cases whose duration is a measurement (9.x, 12.x
	// and 13.x).
	ReportTime bool

	run     func(t *trial)
	deflate *acceptPolicy // how the server answers permessage-deflate offers; nil: not at all
}

// Sections names the case sections (Autobahn's case categories).
var sectionNames = map[string]string{
	"1": "Framing", "2": "Pings/Pongs", "3": "Reserved Bits", "4": "Opcodes",
	"5": "Fragmentation", "6": "UTF-8 Handling", "7": "Close Handling",
	"9": "Limits/Performance", "10": "Misc", "12": "WebSocket Compression (different payloads)",
	"13": "WebSocket Compression (different parameters)",
}

// SectionName returns the title of section s ("1" => "Framing").
func SectionName(s string) string { return sectionNames[s] }

// Section returns the section of a case ID: "6.4.1" => "6".
func Section(id string) string {
	s, _, _ := strings.Cut(id, ".")
	return s
}

type catalogue []Case

func (c *catalogue) add(id, desc, exp string, run func(t *trial)) {
	*c = append(*c, Case{ID: id, Description: desc, Expectation: exp, run: run})
}

// Catalogue returns every case in Autobahn's order: sections 1 to 7, 9 and
// 10, then 12 and 13 (permessage-deflate), with Autobahn's 1,000 messages
// per case of sections 12 and 13.
func Catalogue() []Case { return catalogueOf(compressedCount) }

// catalogueOf returns every case, those of sections 12 and 13 sending
// count messages each.
func catalogueOf(count int) []Case {
	var c catalogue
	framing(&c)
	pings(&c)
	reservedBits(&c)
	opcodes(&c)
	fragmentation(&c)
	utf8Handling(&c)
	closeHandling(&c)
	limits(&c)
	misc(&c)
	compression(&c, count)
	return c
}

const hello = "Hello, world!"

var sec = time.Second

// echo is the script of a case that sends frames and expects evs back,
// then closes normally. wait is the closeAfter delay.
func echo(wait time.Duration, frames []out, evs ...Event) func(*trial) {
	return func(t *trial) {
		t.expectOK(evs...)
		t.normalClose()
		t.send(frames...)
		t.closeAfter(wait)
	}
}

// fail is the script of a case whose frames the client must refuse by
// failing the connection with code; ok lists events allowed before that
// (sent ahead of the bad frame), in which case failing even earlier is
// NON-STRICT.
func fail(code status.Code, frames []out, ok ...Event) func(*trial) {
	return func(t *trial) {
		t.expectOK(ok...)
		if len(ok) > 0 {
			t.expectNonStrict()
		}
		t.clientFails(code)
		t.send(frames...)
		t.killAfter(sec)
	}
}

func repeat(s string, n int) []byte { return bytes.Repeat([]byte(s), n) }

func text(p string) out     { return out{op: frame.OpText, payload: []byte(p)} }
func ping(p string) out     { return out{op: frame.OpPing, payload: []byte(p)} }
func chop(o out, n int) out { o.chop = n; return o }

func framing(c *catalogue) {
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for i, n := range sizes {
		wait := sec
		if n > 128 {
			wait = 2 * sec
		}
		p := repeat("*", n)
		c.add(fmt.Sprintf("1.1.%d", i+1), fmt.Sprintf("Send text message with payload of length %d.", n),
			"Receive echo'ed text message (with payload as sent). Clean close with normal code.",
			echo(wait, []out{{op: frame.OpText, payload: p}}, Message(p, false)))
	}
	p := repeat("*", 65536)
	c.add("1.1.8", "Send text message with payload of length 65536. Sent out data in chops of 997 octets.",
		"Receive echo'ed text message (with payload as sent). Clean close with normal code.",
		echo(10*sec, []out{{op: frame.OpText, payload: p, chop: 997}}, Message(p, false)))
	for i, n := range sizes {
		wait := sec
		if n > 128 {
			wait = 2 * sec
		}
		p := repeat("\xfe", n)
		c.add(fmt.Sprintf("1.2.%d", i+1), fmt.Sprintf("Send binary message with payload of length %d.", n),
			"Receive echo'ed binary message (with payload as sent). Clean close with normal code.",
			echo(wait, []out{{op: frame.OpBinary, payload: p}}, Message(p, true)))
	}
	p = repeat("\xfe", 65536)
	c.add("1.2.8", "Send binary message with payload of length 65536. Sent out data in chops of 997 octets.",
		"Receive echo'ed binary message (with payload as sent). Clean close with normal code.",
		echo(10*sec, []out{{op: frame.OpBinary, payload: p, chop: 997}}, Message(p, true)))
}

func pings(c *catalogue) {
	pongBack := "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code."
	bin := "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
	c.add("2.1", "Send ping without payload.", pongBack,
		echo(sec, []out{ping("")}, Pong(nil)))
	c.add("2.2", "Send ping with small text payload.", pongBack,
		echo(sec, []out{ping(hello)}, Pong([]byte(hello))))
	c.add("2.3", "Send ping with small binary (non UTF-8) payload.", pongBack,
		echo(sec, []out{ping(bin)}, Pong([]byte(bin))))
	c.add("2.4", "Send ping with binary payload of 125 octets.", pongBack,
		echo(sec, []out{{op: frame.OpPing, payload: repeat("\xfe", 125)}}, Pong(repeat("\xfe", 125))))
	c.add("2.5", "Send ping with binary payload of 126 octets.",
		"Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets.",
		fail(status.ProtocolError, []out{{op: frame.OpPing, payload: repeat("\xfe", 126)}}))
	c.add("2.6", "Send ping with binary payload of 125 octets, send in octet-wise chops.",
		"Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code.",
		echo(2*sec, []out{{op: frame.OpPing, payload: repeat("\xfe", 125), chop: 1}}, Pong(repeat("\xfe", 125))))
	c.add("2.7", "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.",
		"Nothing.", echo(sec, []out{{op: frame.OpPong}}))
	c.add("2.8", "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.",
		"Nothing.", echo(sec, []out{{op: frame.OpPong, payload: []byte("unsolicited pong payload")}}))
	c.add("2.9", "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
		"Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
		echo(sec, []out{{op: frame.OpPong, payload: []byte("unsolicited pong payload")}, ping("ping payload")}, Pong([]byte("ping payload"))))
	for i, n := range []int{0, 1} {
		desc := "Send 10 Pings with payload."
		if n == 1 {
			desc = "Send 10 Pings with payload. Send out octets in octet-wise chops."
		}
		var frames []out
		var evs []Event
		for k := range 10 {
			p := fmt.Sprintf("payload-%d", k)
			frames = append(frames, out{op: frame.OpPing, payload: []byte(p), chop: n})
			evs = append(evs, Pong([]byte(p)))
		}
		c.add(fmt.Sprintf("2.%d", 10+i), desc,
			"Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.",
			echo(3*sec, frames, evs...))
	}
}

func reservedBits(c *catalogue) {
	immediately := "The connection is failed immediately, since RSV must be 0."
	afterEcho := "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received."
	c.add("3.1", "Send small text message with RSV = 1.", immediately,
		fail(status.ProtocolError, []out{{op: frame.OpText, payload: []byte(hello), rsv: 1}}))
	c.add("3.2", "Send small text message, then send again with RSV = 2, then send Ping.", afterEcho,
		fail(status.ProtocolError, []out{text(hello), {op: frame.OpText, payload: []byte(hello), rsv: 2}, {op: frame.OpPing}}, Text(hello)))
	c.add("3.3", "Send small text message, then send again with RSV = 3, then send Ping. Octets are sent in frame-wise chops.", afterEcho,
		fail(status.ProtocolError, []out{text(hello), {op: frame.OpText, payload: []byte(hello), rsv: 3}, {op: frame.OpPing}}, Text(hello)))
	c.add("3.4", "Send small text message, then send again with RSV = 4, then send Ping. Octets are sent in octet-wise chops.", afterEcho,
		fail(status.ProtocolError, []out{chop(text(hello), 1), {op: frame.OpText, payload: []byte(hello), rsv: 4, chop: 1}, {op: frame.OpPing, chop: 1}}, Text(hello)))
	c.add("3.5", "Send small binary message with RSV = 5.", immediately,
		fail(status.ProtocolError, []out{{op: frame.OpBinary, payload: []byte("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), rsv: 5}}))
	// Autobahn's 3.6 is described as a ping but sends a binary frame; the
	// wire bytes are kept.
	c.add("3.6", "Send Ping with RSV = 6 (on the wire: a binary frame with RSV = 6, as Autobahn sends it).", immediately,
		fail(status.ProtocolError, []out{{op: frame.OpBinary, payload: []byte(hello), rsv: 6}}))
	c.add("3.7", "Send Close with RSV = 7.", immediately,
		fail(status.ProtocolError, []out{{op: frame.OpClose, rsv: 7}}))
}

func opcodes(c *catalogue) {
	immediately := "The connection is failed immediately."
	afterEcho := "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received."
	for i, kind := range []string{"non-control", "control"} {
		base := frame.Opcode(3 + 8*i) // 3 for 4.1, 11 for 4.2
		sub := fmt.Sprintf("4.%d", i+1)
		c.add(sub+".1", fmt.Sprintf("Send frame with reserved %s Opcode = %d.", kind, base), immediately,
			fail(status.ProtocolError, []out{{op: base}}))
		c.add(sub+".2", fmt.Sprintf("Send frame with reserved %s Opcode = %d and non-empty payload.", kind, base+1), immediately,
			fail(status.ProtocolError, []out{{op: base + 1, payload: []byte("reserved opcode payload")}}))
		c.add(sub+".3", fmt.Sprintf("Send small text message, then send frame with reserved %s Opcode = %d, then send Ping.", kind, base+2), afterEcho,
			fail(status.ProtocolError, []out{text(hello), {op: base + 2}, {op: frame.OpPing}}, Text(hello)))
		c.add(sub+".4", fmt.Sprintf("Send small text message, then send frame with reserved %s Opcode = %d and non-empty payload, then send Ping.", kind, base+3), afterEcho,
			fail(status.ProtocolError, []out{text(hello), {op: base + 3, payload: []byte(hello)}, {op: frame.OpPing}}, Text(hello)))
		c.add(sub+".5", fmt.Sprintf("Send small text message, then send frame with reserved %s Opcode = %d and non-empty payload, then send Ping. Octets are sent in octet-wise chops.", kind, base+4), afterEcho,
			fail(status.ProtocolError, []out{chop(text(hello), 1), {op: base + 4, payload: []byte(hello), chop: 1}, {op: frame.OpPing, chop: 1}}, Text(hello)))
	}
}

func fragmentation(c *catalogue) {
	frag := func(op frame.Opcode, more bool, p string) out { return out{op: op, more: more, payload: []byte(p)} }
	const cont = frame.OpContinuation
	chopAll := func(fs []out, n int) []out {
		r := make([]out, len(fs))
		for i, f := range fs {
			r[i] = chop(f, n)
		}
		return r
	}
	mustNot := "Connection is failed immediately, since control message MUST NOT be fragmented."
	c.add("5.1", "Send Ping fragmented into 2 fragments.", mustNot,
		fail(status.ProtocolError, []out{frag(frame.OpPing, true, "fragment1"), frag(cont, false, "fragment2")}))
	c.add("5.2", "Send Pong fragmented into 2 fragments.", mustNot,
		fail(status.ProtocolError, []out{frag(frame.OpPong, true, "fragment1"), frag(cont, false, "fragment2")}))

	two := []out{frag(frame.OpText, true, "fragment1"), frag(cont, false, "fragment2")}
	processed := "Message is processed and echo'ed back to us."
	c.add("5.3", "Send text Message fragmented into 2 fragments.", processed,
		echo(sec, two, Text("fragment1fragment2")))
	c.add("5.4", "Send text Message fragmented into 2 fragments, octets are sent in frame-wise chops.", processed,
		echo(sec, two, Text("fragment1fragment2")))
	c.add("5.5", "Send text Message fragmented into 2 fragments, octets are sent in octet-wise chops.", processed,
		echo(sec, chopAll(two, 1), Text("fragment1fragment2")))

	withPing := []out{frag(frame.OpText, true, "fragment1"), ping("ping payload"), frag(cont, false, "fragment2")}
	pongThenEcho := "A pong is received, then the message is echo'ed back to us."
	evs := []Event{Pong([]byte("ping payload")), Text("fragment1fragment2")}
	c.add("5.6", "Send text Message fragmented into 2 fragments, one ping with payload in-between.", pongThenEcho,
		echo(sec, withPing, evs...))
	c.add("5.7", "Send text Message fragmented into 2 fragments, one ping with payload in-between. Octets are sent in octet-wise chops.", pongThenEcho,
		echo(sec, chopAll(withPing, 1), evs...))
	c.add("5.8", "Send text Message fragmented into 2 fragments, one ping with payload in-between. Octets are sent in frame-wise chops.", pongThenEcho,
		echo(sec, withPing, evs...))

	nothing := "The connection is failed immediately, since there is no message to continue."
	for i, fin := range []bool{true, false} {
		base := 9 + 3*i
		fs := []out{frag(cont, !fin, "non-continuation payload"), text(hello)}
		f := fmt.Sprintf("Send unfragmented Text Message after Continuation Frame with FIN = %v, where there is nothing to continue", fin)
		c.add(fmt.Sprintf("5.%d", base), f+", sent in one chop.", nothing, fail(status.ProtocolError, fs))
		c.add(fmt.Sprintf("5.%d", base+1), f+", sent in per-frame chops.", nothing, fail(status.ProtocolError, fs))
		c.add(fmt.Sprintf("5.%d", base+2), f+", sent in octet-wise chops.", nothing, fail(status.ProtocolError, chopAll(fs, 1)))
	}
	c.add("5.15", "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.", nothing,
		fail(status.ProtocolError, []out{frag(frame.OpText, true, "fragment1"), frag(cont, false, "fragment2"), frag(cont, true, "fragment3"), text("fragment4")}, Text("fragment1fragment2")))
	for i, fin := range []bool{false, true} {
		var fs []out
		for range 2 {
			fs = append(fs, frag(cont, !fin, "fragment1"), frag(frame.OpText, true, "fragment2"), frag(cont, false, "fragment3"))
		}
		c.add(fmt.Sprintf("5.%d", 16+i), fmt.Sprintf("Repeated 2x: Continuation Frame with FIN = %v (where there is nothing to continue), then text Message fragmented into 2 fragments.", fin), nothing,
			fail(status.ProtocolError, fs))
	}
	c.add("5.18", "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.",
		"The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.",
		fail(status.ProtocolError, []out{frag(frame.OpText, true, "fragment1"), frag(frame.OpText, false, "fragment2")}))
	for i, chopped := range []bool{false, true} {
		desc := "A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal."
		if chopped {
			desc = "Same as Case 5.19, but send all frames with SYNC = True. Note, this does not change the octets sent in any way, only how the stream is chopped up on the wire."
		}
		c.add(fmt.Sprintf("5.%d", 19+i), desc,
			"The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
			func(t *trial) {
				t.expectOK(Pong([]byte("pongme 1!")), Pong([]byte("pongme 2!")), Text("fragment1fragment2fragment3fragment4fragment5"))
				t.normalClose()
				t.send(frag(frame.OpText, true, "fragment1"), frag(cont, true, "fragment2"), ping("pongme 1!"))
				// Autobahn waits 1 s here; the pong (which must come before
				// the message ends) ends the wait early.
				if !t.waitEvents(1, sec) {
					return
				}
				t.send(frag(cont, true, "fragment3"), frag(cont, true, "fragment4"), ping("pongme 2!"), frag(cont, false, "fragment5"))
				t.closeAfter(sec)
			})
	}
}

func utf8Handling(c *catalogue) {
	const cont = frame.OpContinuation
	c.add("6.1.1", "Send text message of length 0.", "A message is echo'ed back to us (with empty payload).",
		echo(sec, []out{text("")}, Text("")))
	c.add("6.1.2", "Send fragmented text message, 3 fragments each of length 0.", "A message is echo'ed back to us (with empty payload).",
		echo(sec, []out{{op: frame.OpText, more: true}, {op: cont, more: true}, {op: cont}}, Text("")))
	c.add("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
		"A message is echo'ed back to us (with payload = payload of middle fragment).",
		echo(sec, []out{{op: frame.OpText, more: true}, {op: cont, more: true, payload: []byte("middle frame payload")}, {op: cont}}, Text("middle frame payload")))

	const mixed = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"
	echoed := "The message is echo'ed back to us."
	c.add("6.2.1", "Send a valid UTF-8 text message in one fragment.", echoed,
		echo(sec, []out{text(mixed)}, Text(mixed)))
	cut := strings.Index(mixed, "\xc3\xbc")
	c.add("6.2.2", "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.", echoed,
		echo(sec, []out{{op: frame.OpText, more: true, payload: []byte(mixed[:cut])}, {op: cont, payload: []byte(mixed[cut:])}}, Text(mixed)))
	c.add("6.2.3", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.", echoed,
		messageEcho(mixed, 1))
	c.add("6.2.4", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.", echoed,
		messageEcho(greek, 1))

	const bad = greek + "\xed\xa0\x80edited"
	failNow := "The connection is failed immediately, since the payload is not valid UTF-8."
	c.add("6.3.1", "Send invalid UTF-8 text message unfragmented.", failNow, badUTF8(bad, 0))
	c.add("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.", failNow, badUTF8(bad, 1))

	// 6.4: fail fast. PART2 makes the message invalid; the client must fail
	// before the third wait, not only when the message ends.
	const part1, part2, part3 = greek, "\xf4\x90\x80\x80", "edited"
	const whole = part1 + part2 + part3
	failFast := "The first frame is accepted, we expect to timeout on the first wait. The 2nd frame should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8."
	c.add("6.4.1", "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest. PART2 is 0x110000 in the UTF-8 integer encoding, an invalid code point.",
		failFast, failFastScript([]string{part1, part2, part3}, false))
	c.add("6.4.2", "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.",
		failFast, failFastScript([]string{whole[:12], whole[12:13], whole[13:]}, false))
	c.add("6.4.3", "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.",
		strings.ReplaceAll(failFast, "frame", "chop"), failFastScript([]string{part1, part2, part3}, true))
	c.add("6.4.4", "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.",
		strings.ReplaceAll(failFast, "frame", "chop"), failFastScript([]string{whole[:12], whole[12:13], whole[13:]}, true))

	for g, group := range utf8Groups() {
		for i, s := range group.seqs {
			id := fmt.Sprintf("6.%d.%d", g+5, i+1)
			if s.valid {
				c.add(id, fmt.Sprintf("Send a text message with payload which is valid UTF-8 in one fragment (%s). Payload: 0x%x", group.title, s.p),
					"The message is echo'ed back to us.", messageEcho(s.p, 0))
			} else {
				c.add(id, fmt.Sprintf("Send a text message with payload which is not valid UTF-8 in one fragment (%s). Payload: 0x%x", group.title, s.p),
					"The connection is failed immediately, since the payload is not valid UTF-8.", badUTF8(s.p, 0))
			}
		}
	}
}

// messageEcho sends p as one text message, in fragments of size bytes when
// size is positive, and expects it echoed.
func messageEcho(p string, size int) func(*trial) {
	return func(t *trial) {
		t.expectOK(Text(p))
		t.normalClose()
		if size <= 0 {
			size = max(len(p), 1)
		}
		t.sendMessage(frame.OpText, []byte(p), size)
		t.closeAfter(sec / 2)
	}
}

// badUTF8 sends p, which is not UTF-8, as a text message (fragments of size
// bytes when positive) and expects the client to fail with 1007.
func badUTF8(p string, size int) func(*trial) {
	return func(t *trial) {
		t.expectOK()
		t.expectClose(false, false, status.InvalidPayload)
		t.expect.WrongEndpointFatal = true
		if size <= 0 {
			size = max(len(p), 1)
		}
		t.sendMessage(frame.OpText, []byte(p), size)
		t.killAfter(sec / 2)
	}
}

// failFastScript sends parts of an invalid text message with a wait after
// the first two: as three frames, or as three chops of one frame.
func failFastScript(parts []string, chops bool) func(*trial) {
	return func(t *trial) {
		t.expectOK(Timeout("A"))
		t.expectNonStrict(Timeout("A"), Timeout("B"))
		t.expectClose(false, false, status.InvalidPayload)
		t.expect.WrongEndpointFatal = true
		total := 0
		for _, p := range parts {
			total += len(p)
		}
		sendPart := func(i int) {
			if chops {
				var b []byte
				if i == 0 {
					b, _ = frame.Header{Fin: true, Opcode: frame.OpText, Length: int64(total)}.AppendBinary(nil)
				}
				t.write(append(b, parts[i]...), 0, i < len(parts)-1)
				return
			}
			op := frame.OpContinuation
			if i == 0 {
				op = frame.OpText
			}
			t.send(out{op: op, more: i < len(parts)-1, payload: []byte(parts[i])})
		}
		sendPart(0)
		if !t.wait(sec) {
			return
		}
		t.recordTimeout("A")
		sendPart(1)
		// A client that fails fast closes at once; under load it may
		// take longer than a scaled-down second, which is not its fault.
		if !t.waitAtLeast(sec) {
			return
		}
		t.recordTimeout("B")
		sendPart(2)
		t.killAfter(sec)
	}
}

func closeHandling(c *catalogue) {
	// Autobahn's 7.x cases turn a wrong close code into a failed case.
	strictCode := func(j *Judgement, _ Observation) {
		if j.BehaviorClose == WrongCode {
			j.Behavior = Failed
			j.Result = j.ResultClose
		}
	}
	closing := func(exp func(t *trial), script func(t *trial)) func(*trial) {
		return func(t *trial) {
			t.suppressClose = true
			t.post = strictCode
			exp(t)
			script(t)
			t.killAfter(sec)
		}
	}
	normal := func(t *trial) { t.expectOK(); t.normalClose() }
	closeNormal := closePayload(1000, "")

	c.add("7.1.1", "Send a message followed by a close frame", "Echoed message followed by clean close with normal code.",
		func(t *trial) {
			t.post = strictCode
			t.expectOK(Text("Hello World!"))
			t.normalClose()
			t.send(text("Hello World!"))
			t.killAfter(sec)
		})
	c.add("7.1.2", "Send two close frames", "Clean close with normal code. Second close frame ignored.",
		closing(normal, func(t *trial) {
			t.sendClose(closeNormal)
			t.write(appendOut(nil, out{op: frame.OpClose}), 0, false)
		}))
	c.add("7.1.3", "Send a ping after close message", "Clean close with normal code, no pong.",
		closing(normal, func(t *trial) { t.sendClose(closeNormal); t.write(appendOut(nil, out{op: frame.OpPing}), 0, false) }))
	c.add("7.1.4", "Send text message after sending a close frame.", "Clean close with normal code. Text message ignored.",
		closing(normal, func(t *trial) { t.sendClose(closeNormal); t.write(appendOut(nil, text("Hello World!")), 0, false) }))
	c.add("7.1.5", "Send message fragment1 followed by close then fragment", "Clean close with normal code.",
		closing(normal, func(t *trial) {
			t.send(out{op: frame.OpText, more: true, payload: []byte("fragment1")})
			t.sendClose(closeNormal)
			t.write(appendOut(nil, out{op: frame.OpContinuation, payload: []byte("fragment2")}), 0, false)
		}))
	c.add("7.1.6", "Send 256K message followed by close then a ping",
		"Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.",
		func(t *trial) {
			t.suppressClose = true
			t.post = func(j *Judgement, _ Observation) {
				switch j.Behavior {
				case OK:
					j.Result = "Text message was processed before close."
				case NonStrict:
					j.Result = "Close was processed before text message could be returned."
				}
				j.Behavior, j.BehaviorClose = Informational, Informational
			}
			t.expectOK(Text("Hello World!"))
			t.expectNonStrict()
			t.normalClose()
			t.killAfter(sec)
			t.send(out{op: frame.OpText, payload: []byte("BAsd7&jh23"), repeatTo: 256 << 10}, text("Hello World!"))
			t.sendClose(closeNormal)
			t.write(appendOut(nil, out{op: frame.OpPing}), 0, false)
		})

	protoOrDrop := func(codes ...status.Code) func(t *trial) {
		return func(t *trial) { t.expectOK(); t.expectClose(true, false, codes...) }
	}
	c.add("7.3.1", "Send a close frame with payload length 0 (no close code, no close reason)", "Clean close with normal code.",
		closing(normal, func(t *trial) { t.sendClose(nil) }))
	c.add("7.3.2", "Send a close frame with payload length 1", "Clean close with protocol error or drop TCP.",
		closing(protoOrDrop(status.ProtocolError), func(t *trial) { t.sendClose([]byte("a")) }))
	c.add("7.3.3", "Send a close frame with payload length 2 (regular close with a code)", "Clean close with normal code.",
		closing(normal, func(t *trial) { t.sendClose(closeNormal) }))
	c.add("7.3.4", "Send a close frame with close code and close reason", "Clean close with normal code.",
		closing(normal, func(t *trial) { t.sendClose(closePayload(1000, "Hello World!")) }))
	c.add("7.3.5", "Send a close frame with close code and close reason of maximum length (123)", "Clean close with normal code.",
		closing(normal, func(t *trial) { t.sendClose(closePayload(1000, strings.Repeat("*", 123))) }))
	c.add("7.3.6", "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets",
		"Clean close with protocol error code or dropped TCP connection.",
		closing(protoOrDrop(status.ProtocolError), func(t *trial) { t.sendClose(closePayload(1000, strings.Repeat("*", 124))) }))
	c.add("7.5.1", "Send a close frame with invalid UTF8 payload", "Clean close with protocol error or invalid utf8 code or dropped TCP.",
		closing(protoOrDrop(status.ProtocolError, status.InvalidPayload), func(t *trial) {
			t.sendClose(closePayload(1000, greek+"\xed\xa0\x80edited"))
		}))
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		c.add(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("Send close with valid close code %d", code), "Clean close with normal or echoed code",
			closing(func(t *trial) { t.expectOK(); t.expectClose(true, true, status.NormalClosure, status.Code(code)) },
				func(t *trial) { t.sendClose(closePayload(code, "")) }))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		c.add(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("Send close with invalid close code %d", code), "Clean close with protocol error code or drop TCP",
			closing(protoOrDrop(status.ProtocolError), func(t *trial) { t.sendClose(closePayload(code, "")) }))
	}
	for i, code := range []int{5000, 65535} {
		c.add(fmt.Sprintf("7.13.%d", i+1), fmt.Sprintf("Send close with close code %d", code), "Actual events are undefined by the spec.",
			func(t *trial) {
				t.suppressClose = true
				t.post = func(j *Judgement, _ Observation) {
					j.Behavior, j.BehaviorClose = Informational, Informational
					j.Result = "Actual events are undefined by the spec."
				}
				t.expectOK()
				t.expectClose(true, false, status.NormalClosure, status.Code(code), status.ProtocolError)
				t.sendClose(closePayload(code, ""))
				t.killAfter(sec)
			})
	}
}

func limits(c *catalogue) {
	const k, m = 1 << 10, 1 << 20
	size := func(n int) string {
		switch {
		case n >= m:
			return fmt.Sprintf("%dM", n/m)
		case n >= k:
			return fmt.Sprintf("%dk", n/k)
		}
		return strconv.Itoa(n)
	}
	power := func(n int) string { // "4 * 2**20 (4M)", Autobahn's spelling
		if n >= m {
			return fmt.Sprintf("%d * 2**20 (%s)", n/m, size(n))
		}
		return fmt.Sprintf("%d * 2**10 (%s)", n/k, size(n))
	}
	type big struct {
		n, frag, chop int
		wait          time.Duration
	}
	group := func(sub int, binary bool, cases []big, desc func(big) string) {
		kind, op, pattern := "text", frame.OpText, "BAsd7&jh23"
		if binary {
			kind, op, pattern = "binary", frame.OpBinary, "\xfe"
		}
		if sub == 3 {
			pattern = "*"
		}
		for i, b := range cases {
			c.add(fmt.Sprintf("9.%d.%d", sub, i+1), desc(b), fmt.Sprintf("Receive echo'ed %s message (with payload as sent).", kind),
				bigEcho(op, pattern, b.n, b.frag, b.chop, b.wait))
			(*c)[len(*c)-1].ReportTime = true
		}
	}
	var plain, frags, chops []big
	for i, n := range []int{64 * k, 256 * k, m, 4 * m, 8 * m, 16 * m} {
		plain = append(plain, big{n: n, wait: []time.Duration{10, 10, 20, 40, 80, 100}[i] * sec})
	}
	for _, f := range []int{64, 256, k, 4 * k, 16 * k, 64 * k, 256 * k, m, 4 * m} {
		frags = append(frags, big{n: 4 * m, frag: f, wait: 100 * sec})
	}
	for _, ch := range []int{64, 128, 256, 512, 1024, 2048} {
		chops = append(chops, big{n: m, chop: ch, wait: 100 * sec})
	}
	for b, kind := range []string{"text", "binary"} {
		group(1+b, b == 1, plain, func(x big) string {
			return fmt.Sprintf("Send %s message message with payload of length %s.", kind, power(x.n))
		})
	}
	for b, kind := range []string{"text", "binary"} {
		group(3+b, b == 1, frags, func(x big) string {
			return fmt.Sprintf("Send fragmented %s message message with message payload of length 4 * 2**20 (4M). Sent out in fragments of %s.", kind, size(x.frag))
		})
	}
	for b, kind := range []string{"text", "binary"} {
		group(5+b, b == 1, chops, func(x big) string {
			return fmt.Sprintf("Send %s message message with payload of length 1 * 2**20 (1M). Sent out data in chops of %d octets.", kind, x.chop)
		})
	}
	for b, kind := range []string{"text", "binary"} {
		for i, n := range []int{0, 16, 64, 256, 1024, 4096} {
			wait := []time.Duration{60, 60, 60, 120, 240, 480}[i] * sec
			c.add(fmt.Sprintf("9.%d.%d", 7+b, i+1),
				fmt.Sprintf("Send 1000 %s messages of payload size %d to measure implementation/network RTT (round trip time) / latency.", kind, n),
				fmt.Sprintf("Receive echo'ed %s messages (with payload as sent). Timeout case after %d secs.", kind, wait/sec),
				roundTrips(b == 1, n, 1000, wait))
			(*c)[len(*c)-1].ReportTime = true
		}
	}
}

// bigEcho sends one message of n bytes (pattern repeated): as one frame,
// in fragments of frag bytes, or one frame written in chops of chop bytes.
// The echo must match in type, length and content.
func bigEcho(op frame.Opcode, pattern string, n, frag, chopSize int, wait time.Duration) func(*trial) {
	return func(t *trial) {
		want := bytes.Repeat([]byte(pattern), n/len(pattern)+1)[:n]
		t.judgement = Judgement{Behavior: Failed, Result: fmt.Sprintf("Did not receive message within %v.", t.scaled(wait))}
		t.normalClose()
		t.onMessage = func(ev Event) {
			t.mu.Lock()
			switch {
			case ev.Binary != (op == frame.OpBinary):
				t.judgement.Result = fmt.Sprintf("Expected %v message, but got the other kind.", op)
			case len(ev.Payload) != n:
				t.judgement.Result = fmt.Sprintf("Expected %v message with payload of length %d, but got %d.", op, n, len(ev.Payload))
			case !bytes.Equal(ev.Payload, want):
				t.judgement.Result = fmt.Sprintf("Received %v message of length %d, but its content differs.", op, n)
			default:
				t.judgement.Behavior = OK
				t.judgement.Result = fmt.Sprintf("Received %v message of length %d.", op, n)
			}
			t.sendCloseLocked(closePayload(1000, ""))
			t.mu.Unlock()
		}
		t.closeAfter(wait)
		if frag > 0 {
			t.sendMessage(op, want, frag)
			return
		}
		t.send(out{op: op, payload: want, chop: chopSize})
	}
}

// roundTrips sends count messages of n bytes one at a time, each after the
// echo of the one before.
func roundTrips(binary bool, n, count int, wait time.Duration) func(*trial) {
	return func(t *trial) {
		op, p := frame.OpText, repeat("*", n)
		if binary {
			op, p = frame.OpBinary, repeat("\xfe", n)
		}
		sent := 0
		t.judgement = Judgement{Behavior: Failed, Result: fmt.Sprintf("Case did not finish within %v.", t.scaled(wait))}
		t.normalClose()
		t.onMessage = func(ev Event) {
			t.mu.Lock()
			defer t.mu.Unlock()
			switch {
			case ev.Binary != binary || !bytes.Equal(ev.Payload, p):
				t.judgement.Result = fmt.Sprintf("Echo'ed message type, length or content differs from what I sent (got binary = %v, payload length = %d).", ev.Binary, len(ev.Payload))
			case sent < count:
				sent++
				t.write(appendOut(nil, out{op: op, payload: p}), 0, false)
				return
			default:
				t.judgement.Behavior = OK
				t.judgement.Result = "Ok, received all echo'ed messages in time."
			}
			t.sendCloseLocked(closePayload(1000, ""))
		}
		t.closeAfter(wait)
		t.mu.Lock()
		sent = 1
		t.mu.Unlock()
		t.send(out{op: op, payload: p})
	}
}

func misc(c *catalogue) {
	p := strings.Repeat("*", 65536)
	c.add("10.1.1", "Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.",
		"Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
		func(t *trial) {
			t.expectOK(Text(p))
			t.normalClose()
			t.sendMessage(frame.OpText, []byte(p), 1300)
			t.killAfter(10 * sec)
		})
}

// compressedCount is the number of messages each case of sections 12 and
// 13 sends in Autobahn.
const compressedCount = 1000

func compression(c *catalogue, count int) {
	type size struct {
		n, frag int
		wait    time.Duration
	}
	var sizes []size
	for i, n := range []int{16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072} {
		sizes = append(sizes, size{n, 0, []time.Duration{60, 60, 120, 240, 480, 480, 480, 480, 480, 480}[i] * sec})
	}
	for _, n := range []int{8192, 16384, 32768, 65536, 131072} {
		sizes = append(sizes, size{n, 256, 480 * sec})
	}
	for _, f := range []int{1024, 4096, 32768} {
		sizes = append(sizes, size{131072, f, 480 * sec})
	}
	add := func(id, use string, s size, cp corpus, p *acceptPolicy) {
		c.add(id, fmt.Sprintf("Send %d compressed messages each of payload size %d, auto-fragment to %d octets. Use %s.", count, s.n, s.frag, use),
			fmt.Sprintf("Receive echo'ed messages (with payload as sent). Timeout case after %d secs.", s.wait/sec),
			compressedEcho(cp, s.n, s.frag, count, s.wait))
		(*c)[len(*c)-1].ReportTime = true
		(*c)[len(*c)-1].deflate = p
	}
	for j, cp := range corpora {
		for i, s := range sizes {
			add(fmt.Sprintf("12.%d.%d", j+1, i+1), "default permessage-deflate offer. Data: "+cp.desc, s, cp, &acceptFirst)
		}
	}
	offers := []string{"[(False, 0)]", "[(True, 0)]", "[(False, 9)]", "[(False, 15)]", "[(True, 9)]", "[(True, 15)]", "[(True, 9), (True, 0), (False, 0)]"}
	for j := range acceptPolicies {
		p := &acceptPolicies[j]
		use := fmt.Sprintf("permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): %s / server accept (requestNoContextTakeover, requestMaxWindowBits): %s", offers[j], p.name)
		for i, s := range sizes {
			add(fmt.Sprintf("13.%d.%d", j+1, i+1), use, s, corpora[0], p)
		}
	}
}

// compressedEcho is the script of a case of sections 12 and 13: once
// permessage-deflate is agreed, it sends count compressed messages of n
// bytes of cp, in fragments of frag bytes (0: one frame), each after the
// echo of the one before, and checks each echo's type, length and content.
// Without permessage-deflate the case is UNIMPLEMENTED, as in Autobahn.
func compressedEcho(cp corpus, n, frag, count int, wait time.Duration) func(*trial) {
	return func(t *trial) {
		t.normalClose()
		if t.pmd == nil {
			t.judgement = Judgement{Behavior: Unimplemented, Result: t.pmdNote}
			t.sendClose(closePayload(1000, ""))
			t.killAfter(sec)
			return
		}
		data := cp.data()
		op := frame.OpText
		if cp.binary {
			op = frame.OpBinary
		}
		pos, sent := 0, 0
		var want []byte
		next := func() { // Autobahn's slices, wrapping around the data
			want = want[:0]
			for len(want) < n {
				k := min(n-len(want), len(data)-pos)
				want = append(want, data[pos:pos+k]...)
				pos = (pos + k) % len(data)
			}
			sent++
			t.sendCompressed(op, want, frag)
		}
		t.judgement = Judgement{Behavior: Failed, Result: fmt.Sprintf("Case did not finish within %v.", t.scaled(wait))}
		t.onMessage = func(ev Event) {
			t.mu.Lock()
			defer t.mu.Unlock()
			switch {
			case ev.Binary != cp.binary:
				t.judgement.Result = fmt.Sprintf("Echo'ed message %d has the wrong type (got binary %v, expected binary %v).", sent, ev.Binary, cp.binary)
			case len(ev.Payload) != n:
				t.judgement.Result = fmt.Sprintf("Echo'ed message %d has the wrong length (got %d, expected %d).", sent, len(ev.Payload), n)
			case !bytes.Equal(ev.Payload, want):
				t.judgement.Result = fmt.Sprintf("Echo'ed message %d differs from what I sent.", sent)
			case sent < count:
				next()
				return
			default:
				s := t.pmd.stats
				t.judgement.Behavior = OK
				t.judgement.Result = fmt.Sprintf("Ok, received all %d echo'ed messages in time. Agreed: %s. The client compressed %d of them: %d bytes on the wire for %d.",
					count, t.pmd.agreed.answer, s.compressed, s.wire, s.inflated)
			}
			t.sendCloseLocked(closePayload(1000, ""))
		}
		t.closeAfter(wait)
		t.mu.Lock()
		next()
		t.mu.Unlock()
	}
}
