package cli

import "testing"

func TestParseMemoryLimits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"MemTotal:       24731440 kB\nMemFree:        20140700 kB\n", 24731440 << 10},
		{"MemFree: 1 kB\nMemTotal: 1024 kB\n", 1 << 20},
		{"MemTotal: 1024 MB\n", 0},
		{"MemTotal: x kB\n", 0},
		{"", 0},
	} {
		if got := parseMemTotal(tc.in); got != tc.want {
			t.Errorf("parseMemTotal(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"max\n", 0}, {"536870912\n", 536870912}, {"", 0}, {"-1", 0},
	} {
		if got := parseCgroupMax(tc.in); got != tc.want {
			t.Errorf("parseCgroupMax(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if lim := defaultMemoryLimit(); lim < 0 || lim > maxDefaultMemoryLimit {
		t.Errorf("defaultMemoryLimit() = %d", lim)
	}
}
