// Package cli is the fieldsync command line: serve, demo, migrate, user add,
// device enroll and tablet. Main is testable: it takes its arguments,
// environment and streams, and returns an exit code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/server"
	"github.com/fieldsync/fieldsync/store"
	"github.com/google/uuid"
)

// Env is the process environment Main runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// OnServer, when set, receives the server once it is built (tests).
	OnServer func(*server.Server)
}

const usage = `fieldsync: offline-first sync server for city-management field inspection

Usage:
  fieldsync serve [flags]          run the server (add --demo for the demo district)
  fieldsync demo [flags]           run the server with the demo district (same as serve --demo)
  fieldsync migrate [flags]        apply database migrations and exit
  fieldsync user add [flags]       add a user
  fieldsync device enroll [flags]  enrol a device for a field user; prints its token once
  fieldsync tablet <cmd> [flags]   simulate a tablet (see fieldsync tablet help)
  fieldsync healthcheck [--url U]  exit 0 when the server answers /healthz (container HEALTHCHECK)

Every flag can also be set as FIELDSYNC_<NAME> (e.g. FIELDSYNC_DATA_DIR, FIELDSYNC_DB).
Run a command with -h for its flags.
`

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], env, false)
	case "demo":
		err = serve(ctx, args[1:], env, true)
	case "migrate":
		err = migrate(ctx, args[1:], env)
	case "user":
		if len(args) < 2 || args[1] != "add" {
			err = usageError("fieldsync user add [flags]")
		} else {
			err = userAdd(ctx, args[2:], env)
		}
	case "device":
		if len(args) < 2 || args[1] != "enroll" {
			err = usageError("fieldsync device enroll [flags]")
		} else {
			err = deviceEnroll(ctx, args[2:], env)
		}
	case "tablet":
		err = tablet(ctx, args[1:], env)
	case "healthcheck":
		err = healthcheck(ctx, args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "fieldsync: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "usage: %s\n", string(ue))
		return 2
	}
	fmt.Fprintf(env.Stderr, "fieldsync: %v\n", err)
	return 1
}

type usageError string

func (u usageError) Error() string { return string(u) }

// common are the flags every command that opens the database shares.
type common struct {
	dataDir, dsn, logLevel, logFormat string
}

func (c *common) register(fs *flag.FlagSet, env Env) {
	fs.StringVar(&c.dataDir, "data-dir", envOr(env, "DATA_DIR", "./data"), "data directory (SQLite database, evidence blobs)")
	fs.StringVar(&c.dsn, "db", envOr(env, "DB", ""), "database: empty for SQLite in the data directory, or a postgres:// DSN")
	fs.StringVar(&c.logLevel, "log-level", envOr(env, "LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", envOr(env, "LOG_FORMAT", "json"), "log format: json or text")
}

func (c *common) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.logLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// heapBallast is the heap floor serve keeps (see heapFloor); it is never
// written, so it takes no memory.
var heapBallast []byte

func envOr(env Env, name, def string) string {
	if v := env.Getenv("FIELDSYNC_" + name); v != "" {
		return v
	}
	return def
}

func envBool(env Env, name string) bool {
	b, _ := strconv.ParseBool(env.Getenv("FIELDSYNC_" + name))
	return b
}

func newFlagSet(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

func serve(ctx context.Context, args []string, env Env, demo bool) error {
	fs := newFlagSet("serve", env)
	var c common
	c.register(fs, env)
	addr := fs.String("addr", envOr(env, "ADDR", ":8080"), "listen address")
	demoFlag := fs.Bool("demo", demo || envBool(env, "DEMO"), "load the demo district into an empty database and print its logins")
	secure := fs.Bool("secure-cookies", envBool(env, "SECURE_COOKIES"), "mark the console cookie Secure (when served over TLS)")
	assume := fs.Bool("unsafe-assume-evidence", false, "count photos as arrived without their bytes (benchmarks only; never in production)")
	credTTL := fs.String("credential-ttl", envOr(env, "CREDENTIAL_TTL", "2s"),
		"how long a resolved token is reused: the longest another server on the same database takes to see a revocation or logout (0s: never reuse)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ttl, err := time.ParseDuration(*credTTL)
	if err != nil || ttl < 0 {
		return fmt.Errorf("--credential-ttl: want a duration such as 2s, got %q", *credTTL)
	}
	if ttl == 0 {
		ttl = -1 // server.Config reads zero as its default
	}
	log := c.logger(env.Stderr)
	if os.Getenv("GOMEMLIMIT") == "" {
		if lim := defaultMemoryLimit(); lim > 0 {
			debug.SetMemoryLimit(lim)
			log.Info("soft memory limit set", "bytes", lim)
		}
	}
	if os.Getenv("GOGC") == "" {
		limit := debug.SetMemoryLimit(-1)
		if limit == math.MaxInt64 {
			limit = 0
		}
		heapBallast = make([]byte, heapFloor(limit))
		debug.SetGCPercent(100)
		log.Info("heap floor set", "bytes", len(heapBallast))
	}
	if path := env.Getenv("FIELDSYNC_CPU_PROFILE"); path != "" {
		// Profiling a live server from the outside: the file is written at shutdown.
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	cfg := server.Config{Addr: *addr, DataDir: c.dataDir, DSN: c.dsn, Demo: *demoFlag, Logger: log, SecureCookies: *secure, AssumeEvidence: *assume,
		Console: consoleFS(), CredentialTTL: ttl}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	if env.OnServer != nil {
		env.OnServer(srv)
	}
	if srv.DemoInfo != nil {
		go func() {
			<-srv.Ready()
			printDemo(env.Stdout, srv.Addr(), srv.DemoInfo)
		}()
	}
	return srv.Run(ctx)
}

func printDemo(w io.Writer, addr string, info *server.DemoInfo) {
	host := addr
	if strings.HasPrefix(host, "[::]") || strings.HasPrefix(host, ":") {
		host = "localhost" + host[strings.LastIndex(host, ":"):]
	}
	fmt.Fprintf(w, "\nfieldsync demo: 市中区 (370402), %d cases", info.Cases)
	if !info.Loaded {
		fmt.Fprint(w, " (database already had data; nothing loaded)")
	}
	fmt.Fprintf(w, "\nconsole and API: http://%s/   health: http://%s/healthz\n\n", host, host)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tPASSWORD\tROLE\tNAME")
	for _, l := range info.Logins {
		pw := l.Password
		if pw == "" {
			pw = "(device only)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Username, pw, l.Role, l.Name)
	}
	tw.Flush()
	if len(info.Devices) > 0 {
		fmt.Fprintln(w, "\nenrolled demo tablets (bearer tokens):")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, d := range info.Devices {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Name, d.Username, d.Token)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\ntry: curl -s -X POST http://%s/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"username\":\"%s\",\"password\":\"%s\"}'\n\n",
		host, firstClerk(info).Username, firstClerk(info).Password)
}

func firstClerk(info *server.DemoInfo) server.DemoLogin {
	for _, l := range info.Logins {
		if l.Role == string(models.RoleClerk) {
			return l
		}
	}
	return server.DemoLogin{}
}

func openStore(ctx context.Context, c common, log *slog.Logger) (*store.DB, error) {
	if err := os.MkdirAll(c.dataDir, 0o750); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Config{DSN: c.dsn, DataDir: c.dataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func migrate(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("migrate", env)
	var c common
	c.register(fs, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, c, c.logger(env.Stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	applied, known, err := st.MigrationState(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "migrations: %d of %d applied\n", applied, known)
	return nil
}

func userAdd(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("user add", env)
	var c common
	c.register(fs, env)
	username := fs.String("username", "", "login name (required)")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "role: inspector, grid_worker, clerk, supervisor, unit_handler, admin (required)")
	org := fs.String("org", "", "org path, e.g. 370402/370402103 (district level if empty)")
	unit := fs.String("unit", "", "responsible unit id (unit handlers)")
	grids := fs.String("grids", "", "comma-separated grid codes (grid workers)")
	pwEnv := fs.String("password-env", "FIELDSYNC_PASSWORD", "environment variable holding the password (office roles)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := models.Role(*role)
	if *username == "" || !r.Valid() {
		return usageError("fieldsync user add --username NAME --role ROLE [--name --org --unit --grids]")
	}
	u := models.User{Username: *username, Name: orDefault(*name, *username), Role: r, OrgPath: *org, UnitID: *unit, CreatedAt: time.Now().UTC()}
	var err error
	if u.ID, err = uuid.NewV7(); err != nil {
		return err
	}
	if r.IsOffice() {
		pw := env.Getenv(*pwEnv)
		if len(pw) < 8 {
			return fmt.Errorf("set a password of at least 8 characters in $%s", *pwEnv)
		}
		if u.PasswordHash, err = auth.HashPassword(pw); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, c, c.logger(env.Stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateUser(ctx, u); err != nil {
		return err
	}
	if g := splitList(*grids); len(g) > 0 {
		if err := st.SetUserGrids(ctx, u.ID, g); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "user %s (%s) added: %s\n", u.Username, u.Role, u.ID)
	return nil
}

func deviceEnroll(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("device enroll", env)
	var c common
	c.register(fs, env)
	username := fs.String("username", "", "the field user the device belongs to (required)")
	name := fs.String("name", "", "device name, e.g. the tablet's asset tag (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *username == "" || *name == "" {
		return usageError("fieldsync device enroll --username USER --name NAME")
	}
	st, err := openStore(ctx, c, c.logger(env.Stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.UserByUsername(ctx, *username)
	if err != nil {
		return fmt.Errorf("user %s: %w", *username, err)
	}
	d, tok, err := auth.EnrollDevice(ctx, st, u, *name, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "device %s enrolled for %s: %s\ntoken (shown once, store it on the tablet): %s\n", d.Name, u.Username, d.ID, tok)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// healthcheck exits 0 when the server's /healthz answers 200; the container
// image has no curl, so its HEALTHCHECK runs this.
func healthcheck(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("healthcheck", env)
	u := fs.String("url", envOr(env, "HEALTH_URL", "http://127.0.0.1:8080/healthz"), "health URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", *u, res.StatusCode)
	}
	return nil
}
