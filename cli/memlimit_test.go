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

func TestHeapFloor(t *testing.T) {
	for _, c := range []struct {
		limit int64
		want  int
	}{
		{0, 32 << 20},
		{1 << 30, 32 << 20},
		{256 << 20, 32 << 20},
		{128 << 20, 16 << 20},
		{64 << 20, 8 << 20},
	} {
		if got := heapFloor(c.limit); got != c.want {
			t.Errorf("heapFloor(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
}
