# The README's two commands are `make demo` and `make test`.
GO ?= go
FUZZTIME ?= 10s

.PHONY: demo test test-postgres fuzz bench build chromium test-browser

# Runs the server on embedded SQLite with the demo district.
demo:
	$(GO) run ./cmd/fieldsync demo --data-dir ./data --log-format text

# Runs every test (race detector on) and a short bounded run of every fuzz
# target. The PostgreSQL variants run when FIELDSYNC_TEST_POSTGRES is set.
test:
	$(GO) test -race -count=1 ./...
	$(MAKE) fuzz

# The same suite with the PostgreSQL DSN required (CI sets it).
test-postgres:
	@test -n "$$FIELDSYNC_TEST_POSTGRES" || (echo "set FIELDSYNC_TEST_POSTGRES" && exit 1)
	$(GO) test -race -count=1 ./...

fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	CGO_ENABLED=1 $(GO) build -trimpath -o bin/fieldsync ./cmd/fieldsync

# Installs Debian's Chromium (and a CJK font for readable screenshots) when it
# is missing: the console's browser tests drive it headless.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei; }

# Runs the console's browser tests alone; screenshots go to
# $$FIELDSYNC_SCREENSHOTS (default: a folder in the temp dir).
test-browser: chromium
	$(GO) test -count=1 -run 'TestConsole' -v ./web
