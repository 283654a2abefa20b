package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// columns are the verdicts a summary counts, in report order.
var columns = []Verdict{OK, NonStrict, Informational, Unimplemented, Failed}

// SectionSummary counts the overall verdicts of one section.
type SectionSummary struct {
	Section string          `json:"section"`
	Title   string          `json:"title"`
	Counts  map[Verdict]int `json:"counts"`
	Total   int             `json:"total"`
}

// Summarize counts results by section, in the order they appear, and adds
// a last row for all of them (Section "Total").
func Summarize(results []Result) []SectionSummary {
	var rows []SectionSummary
	total := SectionSummary{Section: "Total", Counts: map[Verdict]int{}}
	for _, r := range results {
		sec := Section(r.Case)
		if len(rows) == 0 || rows[len(rows)-1].Section != sec {
			rows = append(rows, SectionSummary{Section: sec, Title: SectionName(sec), Counts: map[Verdict]int{}})
		}
		row := &rows[len(rows)-1]
		row.Counts[r.Verdict]++
		row.Total++
		total.Counts[r.Verdict]++
		total.Total++
	}
	return append(rows, total)
}

// Problems returns the results whose verdict is FAILED or NON-STRICT.
func Problems(results []Result) []Result {
	var r []Result
	for _, res := range results {
		if res.Verdict == Failed || res.Verdict == NonStrict {
			r = append(r, res)
		}
	}
	return r
}

// WriteText writes the summary table of results, a line for every problem
// case and the measured durations to w. The durations are only here: the
// report files leave them out so that they change only when a verdict does.
func WriteText(w io.Writer, agent string, results []Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Agent %s: %d cases\n\n", agent, len(results))
	fmt.Fprintf(&b, "%-46s %6s %11s %14s %14s %7s %6s\n", "Section", "OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "Total")
	for _, row := range Summarize(results) {
		name := row.Section
		if row.Title != "" {
			name += " " + row.Title
		}
		fmt.Fprintf(&b, "%-46s %6d %11d %14d %14d %7d %6d\n", name,
			row.Counts[OK], row.Counts[NonStrict], row.Counts[Informational], row.Counts[Unimplemented], row.Counts[Failed], row.Total)
	}
	if p := Problems(results); len(p) > 0 {
		fmt.Fprintf(&b, "\nCases not OK:\n")
		for _, r := range p {
			fmt.Fprintf(&b, "  %-8s %-10s %s\n", r.Case, r.Verdict, Detail(r))
		}
	}
	var total time.Duration
	for _, r := range results {
		total += r.Duration
	}
	fmt.Fprintf(&b, "\nCase time in total: %v\n", total.Round(time.Millisecond))
	if timed := timedCases(results); len(timed) > 0 {
		fmt.Fprintf(&b, "\nDurations (sections 9, 12 and 13):\n")
		for _, r := range timed {
			fmt.Fprintf(&b, "  %-8s %-10s %6d ms  %s\n", r.Case, r.Verdict, r.DurationMS, r.Description)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Detail explains a result in one line: the two verdicts, their reasons,
// what was received and how the connection ended.
func Detail(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "behavior %s (%s); close %s (%s)", r.Behavior, r.Result, r.BehaviorClose, r.ResultClose)
	fmt.Fprintf(&b, "; received [%s]", joinEvents(r.Received))
	if len(r.Expected) > 0 {
		fmt.Fprintf(&b, "; expected [%s]", joinEvents(r.Expected[0].Events))
	}
	o := r.Observation
	fmt.Fprintf(&b, "; closedByMe=%v wasClean=%v", o.ClosedByMe, o.WasClean)
	if o.RemoteCode != 0 {
		fmt.Fprintf(&b, " remoteCloseCode=%d", o.RemoteCode)
	}
	if o.Note != "" {
		fmt.Fprintf(&b, "; %s", o.Note)
	}
	return b.String()
}

func joinEvents(evs []Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

// report is the JSON document of WriteReports.
type report struct {
	Generator string                 `json:"generator"`
	Agents    map[string]agentReport `json:"agents"`
	Sections  map[string]string      `json:"sections"`
}

type agentReport struct {
	Summary []SectionSummary `json:"summary"`
	Cases   []reportCase     `json:"cases"`
}

// reportCase is a Result as the report files show it: without its
// duration, which differs from run to run.
type reportCase struct {
	Result
	DurationMS int64 `json:"duration,omitempty"` // always zero: hides Result's
}

// timedCases returns the results whose duration Autobahn reports (section
// 9), leaving out the unimplemented ones.
func timedCases(results []Result) []Result {
	var timed []Result
	for _, r := range results {
		if r.ReportTime && r.Behavior != Unimplemented {
			timed = append(timed, r)
		}
	}
	return timed
}

// WriteReports writes conformance.json (every result of every agent) and
// conformance.md (the summaries) into dir.
func (s *Server) WriteReports(dir string) error {
	agents := s.Agents()
	all := map[string][]Result{}
	for _, a := range agents {
		all[a] = s.Results(a)
	}
	return WriteReportFiles(dir, agents, all)
}

// WriteReportFiles writes conformance.json and conformance.md for the
// results of agents into dir. Neither holds a duration or a time, so the
// files of two runs with the same verdicts are identical.
func WriteReportFiles(dir string, agents []string, results map[string][]Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	doc := report{Generator: "framewire conformance (Autobahn fuzzing-server cases)", Agents: map[string]agentReport{}, Sections: sectionNames}
	for _, a := range agents {
		cases := make([]reportCase, len(results[a]))
		for i, r := range results[a] {
			cases[i] = reportCase{Result: r}
		}
		doc.Agents[a] = agentReport{Summary: Summarize(results[a]), Cases: cases}
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "conformance.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	WriteMarkdown(&md, agents, results)
	return os.WriteFile(filepath.Join(dir, "conformance.md"), []byte(md.String()), 0o644)
}

// WriteMarkdown writes the report of agents' results as Markdown: the
// verdict rules, a summary by section, the problem cases and every case's
// verdict. It holds no duration (see WriteText).
func WriteMarkdown(w io.Writer, agents []string, results map[string][]Result) {
	fmt.Fprint(w, `# Conformance report

This file is generated by `+"`make conformance`"+` (`+"`go run ./cmd/wsconformance -transport both -messages 1000 -report docs`"+`); do not edit it.
It lists the verdicts of framewire's fuzzing server (`+"`internal/conformance`"+`, run standalone by
`+"`cmd/wsfuzzingserver`"+`), which runs the cases of the Autobahn testsuite's fuzzing server, numbered
as Autobahn numbers them, against a client echo agent. The machine-readable results are in
`+"`conformance.json`"+`.

Verdicts follow Autobahn's rules. The behavior is OK when the events the client produced (echoed
messages, pongs, expired waits) equal the expected ones, NON-STRICT when they equal the non-strict
alternative (for instance failing only at the end of a message where failing fast was possible,
6.4.x), and FAILED otherwise. The close behavior checks that the right endpoint closed, that the
closing handshake completed where the case requires it, and the close code (WRONG CODE). The
overall verdict is FAILED when either is failed or unclean; a wrong close code makes an OK case
NON-STRICT (in section 7 it fails the case, as in Autobahn). INFORMATIONAL cases (7.1.6, 7.13.x) have
no right answer. Sections 12 and 13 (permessage-deflate, RFC 7692) answer the client's offers by
Autobahn's accept policies and check what the client compresses: a back-reference beyond the
agreed window, one into an earlier message where client_no_context_takeover was agreed, or RSV1 on
a continuation or control frame fails the case. They are UNIMPLEMENTED when the client offers no
permessage-deflate (or nothing the case's policy accepts), as in Autobahn.

An agent whose name ends in `+"`-h2`"+` ran every case over HTTP/2 (RFC 8441): an extended CONNECT per
case over h2c with prior knowledge, the case's frames on the stream, a reset stream where HTTP/1.1
drops the TCP connection; the verdicts follow the same rules.

Durations (the case time in total and the timings of sections 9, 12 and 13) differ from run to
run, so they are printed by `+"`make conformance`"+` and left out of this file and of
`+"`conformance.json`"+`.
`)
	for _, a := range agents {
		res := results[a]
		fmt.Fprintf(w, "\n## Agent `%s`\n\n%d cases.\n\n", a, len(res))
		fmt.Fprintf(w, "| Section | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED | Total |\n|---|--:|--:|--:|--:|--:|--:|\n")
		for _, row := range Summarize(res) {
			name := row.Section
			if row.Title != "" {
				name += " " + row.Title
			} else {
				name = "**" + name + "**"
			}
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d |\n", name,
				row.Counts[OK], row.Counts[NonStrict], row.Counts[Informational], row.Counts[Unimplemented], row.Counts[Failed], row.Total)
		}
		if p := Problems(res); len(p) > 0 {
			fmt.Fprintf(w, "\n### Cases not OK\n\n| Case | Verdict | Detail |\n|---|---|---|\n")
			for _, r := range p {
				fmt.Fprintf(w, "| %s | %s | %s |\n", r.Case, r.Verdict, mdEscape(Detail(r)))
			}
		} else {
			fmt.Fprintf(w, "\nNo case is FAILED or NON-STRICT.\n")
		}
		fmt.Fprintf(w, "\n<details><summary>Every case</summary>\n\n| Case | Verdict | Behavior | Close | Close code | Description |\n|---|---|---|---|--:|---|\n")
		for _, r := range res {
			code := ""
			if r.Observation.RemoteCode != 0 {
				code = strconv.Itoa(int(r.Observation.RemoteCode))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Case, r.Verdict, r.Behavior, r.BehaviorClose, code, mdEscape(shorten(r.Description, 120)))
		}
		fmt.Fprintf(w, "\n</details>\n")
	}
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
