package conformance

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two runs with the same verdicts but different timings write the same
// report files, and the timings go to the text summary instead.
func TestReportFilesHoldNoTimings(t *testing.T) {
	run := func(d time.Duration) []Result {
		return []Result{
			{Case: "1.1.1", Verdict: OK, Judgement: Judgement{Behavior: OK, BehaviorClose: OK}, Duration: d, DurationMS: d.Milliseconds(), Started: time.Now()},
			{Case: "9.1.1", Verdict: OK, Judgement: Judgement{Behavior: OK, BehaviorClose: OK}, ReportTime: true, Duration: 3 * d, DurationMS: 3 * d.Milliseconds(), Started: time.Now()},
		}
	}
	write := func(results []Result) map[string][]byte {
		dir := t.TempDir()
		if err := WriteReportFiles(dir, []string{"a"}, map[string][]Result{"a": results}); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, name := range []string{"conformance.md", "conformance.json"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b
		}
		return files
	}
	first, second := write(run(7*time.Millisecond)), write(run(1234*time.Millisecond))
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("%s differs between runs that differ only in timings", name)
		}
		if bytes.Contains(b, []byte("duration")) || bytes.Contains(b, []byte("1234")) || bytes.Contains(b, []byte("3702")) {
			t.Errorf("%s holds a timing:\n%s", name, b)
		}
	}

	var text strings.Builder
	if err := WriteText(&text, "a", run(1234*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Case time in total: 4.936s", "9.1.1", "3702 ms"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
}
