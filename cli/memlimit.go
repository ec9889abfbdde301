package cli

import (
	"os"
	"strconv"
	"strings"
)

// maxDefaultMemoryLimit caps the soft memory limit serve sets by default.
const maxDefaultMemoryLimit = 1 << 30

// defaultMemoryLimit returns the soft memory limit serve sets when
// GOMEMLIMIT is not: a quarter of the memory the process may use (the
// machine's, or its cgroup's when that is lower), at most 1 GiB; 0 when
// neither can be read. GOGC=400 lets the heap grow to five times what was
// live at the last collection, and the limit makes the collector run sooner
// as the process nears it, so a small box is not filled by garbage.
func defaultMemoryLimit() int64 {
	total := readLimit("/proc/meminfo", parseMemTotal)
	if cg := readLimit("/sys/fs/cgroup/memory.max", parseCgroupMax); cg > 0 && (total == 0 || cg < total) {
		total = cg
	}
	if total <= 0 {
		return 0
	}
	return min(total/4, maxDefaultMemoryLimit)
}

func readLimit(path string, parse func(string) int64) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return parse(string(b))
}

// parseMemTotal returns the MemTotal of a /proc/meminfo text in bytes, or 0.
func parseMemTotal(s string) int64 {
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb <= 0 || kb > 1<<50 {
			return 0
		}
		return kb << 10
	}
	return 0
}

// parseCgroupMax returns a cgroup v2 memory.max in bytes, or 0 for "max"
// (no limit) and anything unreadable.
func parseCgroupMax(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
