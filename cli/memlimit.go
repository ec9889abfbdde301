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
// neither can be read. The limit makes the collector run sooner as the
// process nears it, so a small box is not filled by garbage.
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

// maxHeapFloor is the largest heap floor serve sets aside (see heapFloor).
const maxHeapFloor = 32 << 20

// heapFloor returns the size of the never-touched allocation serve keeps
// when GOGC is not set, given the soft memory limit in force (0: none): 32
// MiB, or an eighth of the limit when that is less.
//
// A sync server's live heap is a few MB and churns fast: a push of 100
// reports allocates about 1 MB. Go's collector aims at twice the live heap
// with a 4 MB minimum, so it ran every few pushes, and after each collection
// the scavenger handed the memory beyond that goal back to the kernel, only
// for the next pushes to fault it in again: about 350 madvise calls per
// 20,000 reports, each flushing the TLB of every CPU, 5% of the push's server
// CPU on a virtual machine. GOGC=400 made collections rarer but kept the
// churn. Memory that is allocated and kept but never written (the "ballast"
// of Twitch's write-up) counts as live heap to the collector and the
// scavenger but is never faulted in: it costs address space, not RAM, and
// the collector never scans it (it holds no pointers). With 32 MiB of it at
// GOGC=100, the goal is at least 70 MB, collections are as rare as at
// GOGC=400, the scavenger no longer returns memory (8 to 50 madvise calls),
// and a large live heap grows the goal by 2x rather than 5x. In 7 rounds of
// 20,000 reports pushed it used 12% less server CPU than GOGC=400 alone
// (median 599 against 682 ms, lower in every round).
func heapFloor(limit int64) int {
	if limit > 0 && limit/8 < maxHeapFloor {
		return int(limit / 8)
	}
	return maxHeapFloor
}
