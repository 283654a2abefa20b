package conformance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/framewire/ws/handshake"
)

// Options configures a Server. The zero value serves every case with
// Autobahn's timings and writes no report files.
type Options struct {
	// Cases selects cases by ID: comma-separated patterns in which "*"
	// matches any run of characters ("1.*,2.1,6.4.*"). Empty selects all.
	Cases string
	// Exclude leaves out the cases it matches, in the same syntax.
	Exclude string
	// Scale multiplies every wait of every case; 0 means 1. Waits decide
	// verdicts only for clients that stay silent, so a small scale (0.1)
	// suits a loopback CI run.
	Scale float64
	// ReportDir is where /updateReports writes conformance.json and
	// conformance.md. Empty writes nothing.
	ReportDir string
	// MaxMessageSize bounds a message the client sends; 0 means 64 MiB.
	MaxMessageSize int64
	// CaseLimit caps one case run, whatever the client does; 0 means
	// 5 minutes.
	CaseLimit time.Duration
	// Messages is how many messages each case of sections 12 and 13
	// (permessage-deflate) sends; 0 means Autobahn's 1,000. A CI run can
	// send fewer: every size, fragment size and parameter set is still
	// covered.
	Messages int
}

// Result is the outcome of one case run by one agent (a row of Autobahn's
// index.json, with the overall Verdict added).
type Result struct {
	Case        string `json:"id"`
	Agent       string `json:"agent"`
	Description string `json:"description"`
	Expectation string `json:"expectation"`
	// Proto is the HTTP version of the opening handshake: "HTTP/1.1", or
	// "HTTP/2.0" for a case run on an HTTP/2 stream (RFC 8441).
	Proto string `json:"proto"`
	Judgement
	Verdict       Verdict       `json:"verdict"`
	Started       time.Time     `json:"-"`
	Duration      time.Duration `json:"-"`
	DurationMS    int64         `json:"duration"`
	ReportTime    bool          `json:"reportTime"`
	Expected      []Outcome     `json:"expected"`
	ExpectedClose ExpectClose   `json:"expectedClose"`
	Received      []Event       `json:"received"`
	Observation   Observation   `json:"observation"`
}

// Server is the fuzzing server: an http.Handler that speaks the Autobahn
// fuzzing server's URL protocol to any WebSocket client.
type Server struct {
	opts  Options
	cases []Case

	mu       sync.Mutex
	results  map[string]map[string]Result // agent, case ID
	agents   []string                     // in order of first result
	running  sync.WaitGroup
	inflight int        // case runs in progress (guarded by mu)
	idle     *sync.Cond // signalled when inflight drops to 0
}

// NewServer returns a server for the cases o selects. It fails when the
// selection is empty.
func NewServer(o Options) (*Server, error) {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 64 << 20
	}
	if o.CaseLimit <= 0 {
		o.CaseLimit = 5 * time.Minute
	}
	if o.Messages <= 0 {
		o.Messages = compressedCount
	}
	cases := Select(catalogueOf(o.Messages), o.Cases, o.Exclude)
	if len(cases) == 0 {
		return nil, fmt.Errorf("conformance: no case matches %q", o.Cases)
	}
	s := &Server{opts: o, cases: cases, results: map[string]map[string]Result{}}
	s.idle = sync.NewCond(&s.mu)
	return s, nil
}

// Cases returns the cases the server runs, numbered from 1 in this order
// by /runCase.
func (s *Server) Cases() []Case { return slices.Clone(s.cases) }

// Select returns the cases of all whose ID matches a pattern of include
// (all when empty) and none of exclude. Patterns are comma-separated; "*"
// matches any run of characters.
func Select(all []Case, include, exclude string) []Case {
	var r []Case
	for _, c := range all {
		if (include == "" || matchAny(include, c.ID)) && (exclude == "" || !matchAny(exclude, c.ID)) {
			r = append(r, c)
		}
	}
	return r
}

func matchAny(patterns, id string) bool {
	for p := range strings.SplitSeq(patterns, ",") {
		if p = strings.TrimSpace(p); p != "" && match(p, id) {
			return true
		}
	}
	return false
}

// match reports whether id matches pattern, in which "*" stands for any
// run of characters.
func match(pattern, id string) bool {
	star, rest, found := strings.Cut(pattern, "*")
	if !found {
		return pattern == id
	}
	if !strings.HasPrefix(id, star) {
		return false
	}
	id = id[len(star):]
	for i := 0; i <= len(id); i++ {
		if match(rest, id[i:]) {
			return true
		}
	}
	return false
}

// Wait blocks until every case run in progress has ended.
func (s *Server) Wait() { s.running.Wait() }

// Results returns agent's results in case order.
func (s *Server) Results(agent string) []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r []Result
	for _, c := range s.cases {
		if res, ok := s.results[agent][c.ID]; ok {
			r = append(r, res)
		}
	}
	return r
}

// Agents returns the agents that have results, in order of first result.
func (s *Server) Agents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.agents)
}

// ServeHTTP serves the URL protocol of the Autobahn fuzzing server:
//
//	/getCaseCount               a text message with the number of cases, then close
//	/getCaseInfo?case=N         a text message {"id": ..., "description": ...}, then close
//	/getCaseStatus?case=N&agent=A  a text message {"behavior": ...}, then close
//	/runCase?case=N&agent=A     runs case N (from 1) against the client
//	/updateReports?agent=A      writes the reports, then close
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var c *Case
	if r.URL.Path != "/getCaseCount" && r.URL.Path != "/updateReports" {
		n, err := strconv.Atoi(q.Get("case"))
		if err != nil || n < 1 || n > len(s.cases) {
			http.Error(w, fmt.Sprintf("case must be a number from 1 to %d", len(s.cases)), http.StatusBadRequest)
			return
		}
		c = &s.cases[n-1]
	}
	agent := q.Get("agent")
	var script func(*trial)
	switch r.URL.Path {
	case "/getCaseCount":
		script = reply(strconv.Itoa(len(s.cases)))
	case "/getCaseInfo":
		b, _ := json.Marshal(map[string]string{"id": c.ID, "description": c.Description})
		script = reply(string(b))
	case "/getCaseStatus":
		s.mu.Lock()
		res, ok := s.results[agent][c.ID]
		s.mu.Unlock()
		v := Verdict("UNKNOWN")
		if ok {
			v = res.Behavior
		}
		b, _ := json.Marshal(map[string]Verdict{"behavior": v})
		script = reply(string(b))
	case "/updateReports":
		// Results of case runs still being judged belong in the report.
		s.mu.Lock()
		for s.inflight > 0 {
			s.idle.Wait()
		}
		s.mu.Unlock()
		var err error
		if s.opts.ReportDir != "" {
			err = s.WriteReports(s.opts.ReportDir)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		script = reply("")
	case "/runCase":
		if agent == "" {
			http.Error(w, "runCase needs an agent", http.StatusBadRequest)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	if script == nil {
		s.mu.Lock()
		s.inflight++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			if s.inflight--; s.inflight == 0 {
				s.idle.Broadcast()
			}
			s.mu.Unlock()
		}()
	}
	var policy *acceptPolicy
	if script == nil {
		policy = c.deflate
	}
	t, err := s.accept(w, r, policy)
	if err != nil {
		return
	}
	if sc, ok := t.nc.(*streamConn); ok {
		defer sc.handlerDone()
	}
	s.running.Add(1)
	defer s.running.Done()
	if script != nil {
		t.scale = 1
		t.run(script, 10*time.Second)
		return
	}
	start := time.Now()
	j, received, obs, outcomes, expect := t.run(c.run, s.opts.CaseLimit)
	res := Result{
		Case: c.ID, Agent: agent, Description: c.Description, Expectation: c.Expectation, Proto: r.Proto,
		Judgement: j, Verdict: Overall(j.Behavior, j.BehaviorClose),
		Started: start.UTC(), Duration: time.Since(start), ReportTime: c.ReportTime,
		Expected: outcomes, ExpectedClose: expect, Received: received, Observation: obs,
	}
	res.DurationMS = res.Duration.Milliseconds()
	s.mu.Lock()
	if s.results[agent] == nil {
		s.results[agent] = map[string]Result{}
		s.agents = append(s.agents, agent)
	}
	s.results[agent][c.ID] = res
	s.mu.Unlock()
}

// reply is the script of a command connection: an optional text message,
// then a normal close.
func reply(msg string) func(*trial) {
	return func(t *trial) {
		t.normalClose()
		if msg != "" {
			t.send(text(msg))
		}
		t.sendClose(closePayload(1000, ""))
		t.killAfter(2 * time.Second)
	}
}

// accept completes the opening handshake (RFC 6455 §4.2.2) and returns a
// trial on the connection. It negotiates no subprotocol, and
// permessage-deflate only when policy is not nil, by that policy.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, policy *acceptPolicy) (*trial, error) {
	fail := func(msg string) (*trial, error) {
		http.Error(w, msg, http.StatusBadRequest)
		return nil, errors.New(msg)
	}
	if isExtendedConnect(r) {
		return s.acceptStream(w, r, policy, fail)
	}
	switch {
	case r.Method != http.MethodGet:
		return fail("the opening handshake must be a GET")
	case !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket"):
		return fail("not a WebSocket upgrade request")
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		return fail("unsupported Sec-WebSocket-Version")
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		return fail("Sec-WebSocket-Key must be base64 of 16 bytes")
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return fail("connection cannot be taken over")
	}
	nc, rw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	var pmd *pmdState
	var note, ext string
	if policy != nil {
		pmd, note = negotiateRequest(*policy, r.Header)
		if pmd != nil {
			ext = "Sec-WebSocket-Extensions: " + pmd.agreed.answer.String() + "\r\n"
		}
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + handshake.AcceptKey(key) + "\r\n" + ext + "\r\n"
	if _, err := nc.Write([]byte(resp)); err != nil {
		nc.Close()
		return nil, err
	}
	br := rw.Reader
	if br == nil {
		br = newReader(nc)
	}
	t := newTrial(nc, br, s.opts.Scale, s.opts.MaxMessageSize)
	t.pmd, t.pmdNote = pmd, note
	return t, nil
}

// acceptStream accepts a WebSocket over an HTTP/2 stream (RFC 8441 §5):
// an extended CONNECT with :protocol websocket and version 13, answered
// with 200 and no Sec-WebSocket-Accept.
func (s *Server) acceptStream(w http.ResponseWriter, r *http.Request, policy *acceptPolicy, fail func(string) (*trial, error)) (*trial, error) {
	switch {
	case r.Header.Get(":protocol") != "websocket":
		return fail("an HTTP/2 CONNECT must have :protocol websocket")
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		return fail("unsupported Sec-WebSocket-Version")
	}
	var pmd *pmdState
	var note string
	if policy != nil {
		pmd, note = negotiateRequest(*policy, r.Header)
		if pmd != nil {
			w.Header().Set("Sec-WebSocket-Extensions", pmd.agreed.answer.String())
		}
	}
	w.WriteHeader(http.StatusOK)
	nc := newStreamConn(w, r)
	if err := nc.rc.Flush(); err != nil {
		return nil, err
	}
	t := newTrial(nc, newReader(nc), s.opts.Scale, s.opts.MaxMessageSize)
	t.pmd, t.pmdNote = pmd, note
	return t, nil
}

// negotiateRequest answers the permessage-deflate offers of a request by
// policy. When it agrees on none, note says why.
func negotiateRequest(policy acceptPolicy, h http.Header) (pmd *pmdState, note string) {
	offers, err := handshake.ParseDeflateOffers(h.Values("Sec-WebSocket-Extensions"))
	n, ok := negotiate(policy, offers)
	if ok {
		pmd, perr := newPMD(n)
		if perr == nil {
			return pmd, ""
		}
		return nil, "The server declined: " + perr.Error() + "."
	}
	switch {
	case len(offers) == 0:
		note = "The client offered no permessage-deflate."
	default:
		note = fmt.Sprintf("The server declined: none of the client's %d permessage-deflate offers allows this case's accept policy %s.", len(offers), policy.name)
	}
	if err != nil {
		note += " Offers left out: " + err.Error()
	}
	return nil, note
}

// headerHas reports whether a comma-separated header of h lists token,
// compared without regard to case.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}
