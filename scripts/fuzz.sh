#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each.
# Usage: scripts/fuzz.sh [FUZZTIME]   (default 10s)
#
# Minimizing an input is bounded (-fuzzminimizetime, 60 s by default): a new
# interesting input of a slow target (FuzzInspectImage decodes images) took
# the workers' whole run to minimize, so a 10 s run made a few dozen
# executions and often ended inside the minimization.
#
# A crash always makes the fuzzer write the failing input ("Failing input
# written to …"): that fails the run. The Go fuzzer can also end a run with a
# bare "context deadline exceeded" when its time runs out while a worker is
# busy (a flake of the tool itself); that is retried once and
# then reported as a warning, since no input failed.
set -u
fuzztime=${1:-10s}
status=0
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
    for attempt in 1 2; do
      echo "fuzz $pkg $f"
      out=$(go test -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s "$pkg" 2>&1)
      rc=$?
      echo "$out" | tail -3
      if [ $rc -eq 0 ]; then break; fi
      if echo "$out" | grep -q "Failing input written"; then
        echo "$out"; status=1; break
      fi
      if echo "$out" | grep -q "context deadline exceeded" && ! echo "$out" | grep -q "panic:"; then
        if [ $attempt -eq 2 ]; then echo "warning: $f ended on the fuzzer's own deadline twice; no input failed"; fi
        continue
      fi
      echo "$out"; status=1; break
    done
  done
done
exit $status
