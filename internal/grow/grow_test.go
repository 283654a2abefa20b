package grow

import "testing"

func TestBuffer(t *testing.T) {
	full := func(n int) []byte { return make([]byte, n) }
	for _, row := range []struct {
		name         string
		b            []byte
		n, limit     int
		wantCap      int
		wantSameBack bool
	}{
		{"room already", make([]byte, 3, 10), 7, -1, 10, true},
		{"from nothing", nil, 1, -1, Min, false},
		{"doubles", full(Min), 1, -1, 2 * Min, false},
		{"more than double asked", full(Min), 3 * Min, -1, 4 * Min, false},
		{"stops at the limit", full(Min), 1, 600, 600, false},
		{"limit under the first growth", nil, 1, 100, 100, false},
		{"need beyond the limit", full(10), 5, 12, 15, false},
	} {
		got := Buffer(row.b, row.n, row.limit)
		if cap(got) != row.wantCap || len(got) != len(row.b) {
			t.Errorf("%s: len %d cap %d, want len %d cap %d", row.name, len(got), cap(got), len(row.b), row.wantCap)
		}
		if same := cap(row.b) > 0 && &got[:1][0] == &row.b[:1][0]; same != row.wantSameBack {
			t.Errorf("%s: same array = %v", row.name, same)
		}
	}
}
