package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/client"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

const tabletUsage = `fieldsync tablet: a tablet simulated on the command line, with the reference client

Usage: fieldsync tablet [--db FILE] <command> [flags]

Commands:
  enroll --server URL --token T        store the server and the device token, and check them
  report --category C --lat LAT --lon LON --desc TEXT [--address A] [--party P]
         [--accuracy M] [--quantity Q] --photo FILE[:type]...
                                       file a new case (photos default to type far)
  edit --case ID field=value...        edit fields (category description address lat lon accuracy party quantity)
  act --case ID --action NAME [--comment C] [--reason R] [--disposition D] [--result R]
      [--deadline RFC3339] [--unit U] [--photo FILE[:type]]... [--photo-type after]
                                       queue a workflow action
  comment --case ID TEXT               queue a comment
  sync                                 push the outbox, pull changes, upload photos
  cases                                the local view: pulled cases with pending work on top
  conflicts                            conflict records of the tablet's cases
  outbox                               every queued command and the server's outcome
  watch [--sync]                       print change notifications (and sync on each)

Work is queued offline and sent by sync. --db defaults to $FIELDSYNC_TABLET_DB or ./tablet.db;
a case ID may be shortened to any unique prefix.
`

// tablet simulates a tablet from the command line with the reference client.
func tablet(ctx context.Context, args []string, env Env) error {
	db := envOr(env, "TABLET_DB", "./tablet.db")
	// --db may come before the command as well as after it.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "--db" || args[0] == "-db":
			if len(args) < 2 {
				return usageError("fieldsync tablet [--db FILE] <command>")
			}
			db, args = args[1], args[2:]
		case strings.HasPrefix(args[0], "--db=") || strings.HasPrefix(args[0], "-db="):
			db, args = args[0][strings.Index(args[0], "=")+1:], args[1:]
		case args[0] == "-h" || args[0] == "--help":
			fmt.Fprint(env.Stdout, tabletUsage)
			return nil
		default:
			return usageError("fieldsync tablet [--db FILE] <command> (see fieldsync tablet help)")
		}
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, tabletUsage)
		return usageError("fieldsync tablet [--db FILE] <command>")
	}
	t := &tabletCmd{env: env, db: db}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "enroll":
		return t.enroll(ctx, rest)
	case "report":
		return t.report(ctx, rest)
	case "edit":
		return t.edit(ctx, rest)
	case "act":
		return t.act(ctx, rest)
	case "comment":
		return t.comment(ctx, rest)
	case "sync":
		return t.sync(ctx, rest)
	case "cases":
		return t.cases(ctx, rest)
	case "conflicts":
		return t.conflicts(ctx, rest)
	case "outbox":
		return t.outbox(ctx, rest)
	case "watch":
		return t.watch(ctx, rest)
	case "help":
		fmt.Fprint(env.Stdout, tabletUsage)
		return nil
	}
	fmt.Fprint(env.Stderr, tabletUsage)
	return usageError(fmt.Sprintf("fieldsync tablet: unknown command %q", cmd))
}

type tabletCmd struct {
	env Env
	db  string
}

// flags returns a flag set for a tablet command that also takes --db.
func (t *tabletCmd) flags(name string) *flag.FlagSet {
	fs := newFlagSet("tablet "+name, t.env)
	fs.StringVar(&t.db, "db", t.db, "the tablet's local database")
	return fs
}

func (t *tabletCmd) open(ctx context.Context, cfg client.Config) (*client.Client, error) {
	cfg.AppVersion = "fieldsync-cli"
	return client.Open(ctx, t.db, cfg)
}

func (t *tabletCmd) out() io.Writer { return t.env.Stdout }

// photoList collects repeated --photo FILE[:type] flags.
type photoList []string

func (p *photoList) String() string     { return strings.Join(*p, ",") }
func (p *photoList) Set(v string) error { *p = append(*p, v); return nil }

// inputs turns the flags into photo inputs. A ":type" suffix names the type
// of one photo; typ is the default for the others ("" leaves it to the client).
func (p photoList) inputs(typ string) []client.PhotoInput {
	var out []client.PhotoInput
	for _, v := range p {
		in := client.PhotoInput{Path: v, Type: models.PhotoType(typ)}
		if i := strings.LastIndex(v, ":"); i > 0 && slices.Contains(models.PhotoTypes, models.PhotoType(v[i+1:])) {
			in.Path, in.Type = v[:i], models.PhotoType(v[i+1:])
		}
		out = append(out, in)
	}
	return out
}

func (t *tabletCmd) enroll(ctx context.Context, args []string) error {
	fs := t.flags("enroll")
	server := fs.String("server", envOr(t.env, "TABLET_SERVER", ""), "server base URL, e.g. https://fieldsync.example.cn")
	token := fs.String("token", envOr(t.env, "TABLET_TOKEN", ""), "device token from fieldsync device enroll")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *server == "" || *token == "" {
		return usageError("fieldsync tablet enroll --server URL --token TOKEN")
	}
	c, err := t.open(ctx, client.Config{ServerURL: *server, Token: *token})
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.Whoami(ctx)
	if err != nil {
		return fmt.Errorf("stored, but the server did not accept the token: %w", err)
	}
	fmt.Fprintf(t.out(), "enrolled %s with %s as %s (%s), device %s\n", t.db, c.ServerURL(), id.Username, id.Role, id.DeviceID)
	return nil
}

func (t *tabletCmd) report(ctx context.Context, args []string) error {
	fs := t.flags("report")
	cat := fs.String("category", "", "category code, e.g. E0504 (required)")
	lat := fs.Float64("lat", 0, "latitude, WGS84 (required)")
	lon := fs.Float64("lon", 0, "longitude, WGS84 (required)")
	acc := fs.Float64("accuracy", 0, "GPS accuracy in metres")
	desc := fs.String("desc", "", "description")
	addr := fs.String("address", "", "street address")
	party := fs.String("party", "", "responsible party: shop, stall holder, owner")
	qty := fs.String("quantity", "", "quantity in the category's unit")
	var photos photoList
	fs.Var(&photos, "photo", "photo file, optionally FILE:type (far, near, reference, ...); repeatable")
	ptype := fs.String("photo-type", "", "type of the photos without a :type suffix (default far)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cat == "" || fs.NArg() != 0 {
		return usageError("fieldsync tablet report --category C --lat LAT --lon LON --desc TEXT --photo FILE...")
	}
	d := client.Draft{Category: *cat, Description: *desc, Party: *party,
		Location: models.Location{Lat: *lat, Lon: *lon, Accuracy: *acc, Address: *addr}}
	if *qty != "" {
		q, err := strconv.ParseFloat(*qty, 64)
		if err != nil {
			return fmt.Errorf("--quantity: %v", err)
		}
		d.Quantity = &q
	}
	c, err := t.open(ctx, client.Config{})
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.CreateCase(ctx, d, photos.inputs(*ptype)...)
	if err != nil {
		return err
	}
	fmt.Fprintf(t.out(), "queued case %s with %d photo(s); run sync to send it\n", id, len(photos))
	return nil
}

// caseID resolves a full id or a unique prefix of a case on the tablet.
func caseID(ctx context.Context, c *client.Client, s string) (uuid.UUID, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return uuid.Nil, usageError("--case ID is required")
	}
	if id, err := uuid.Parse(s); err == nil {
		return id, nil
	}
	vs, err := c.Cases(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	var found []uuid.UUID
	for _, v := range vs {
		if strings.HasPrefix(v.ID.String(), strings.ToLower(s)) {
			found = append(found, v.ID)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return uuid.Nil, models.Errorf(models.CodeNotFound, "no case on this tablet starts with %q", s).WithHint("run sync, then cases")
	}
	return uuid.Nil, models.Errorf(models.CodeInvalidInput, "%q matches %d cases; give more of the id", s, len(found))
}

func (t *tabletCmd) edit(ctx context.Context, args []string) error {
	fs := t.flags("edit")
	cs := fs.String("case", "", "case id (or a unique prefix)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fields := map[string]string{}
	for _, a := range fs.Args() {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usageError("fieldsync tablet edit --case ID field=value... (not " + strconv.Quote(a) + ")")
		}
		fields[k] = v
	}
	if len(fields) == 0 {
		return usageError("fieldsync tablet edit --case ID field=value...")
	}
	c, err := t.open(ctx, client.Config{})
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := caseID(ctx, c, *cs)
	if err != nil {
		return err
	}
	if err := c.Edit(ctx, id, fields); err != nil {
		return err
	}
	v, err := c.Case(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(t.out(), "queued edit of case %s (based on version %d)\n", id, v.Version)
	return nil
}

func (t *tabletCmd) act(ctx context.Context, args []string) error {
	fs := t.flags("act")
	cs := fs.String("case", "", "case id (or a unique prefix)")
	action := fs.String("action", "", "workflow action, e.g. report_done, return, verify, resubmit (required)")
	var p client.Params
	var result, deadline string
	fs.StringVar(&p.Comment, "comment", "", "comment")
	fs.StringVar(&p.Reason, "reason", "", "reason")
	fs.StringVar(&p.Disposition, "disposition", "", "disposition, e.g. 劝导整改")
	fs.StringVar(&result, "result", "", "verify result: true, false or unverifiable")
	fs.StringVar(&deadline, "deadline", "", "new deadline (RFC 3339), for request_extension")
	fs.StringVar(&p.UnitID, "unit", "", "responsible unit")
	var photos photoList
	fs.Var(&photos, "photo", "photo file, optionally FILE:type; repeatable")
	ptype := fs.String("photo-type", "", "type of the photos without a :type suffix (default by action, e.g. after)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *action == "" || fs.NArg() != 0 {
		return usageError("fieldsync tablet act --case ID --action NAME [--comment C] [--reason R] [--photo FILE]...")
	}
	p.Result = models.VerifyResult(result)
	if deadline != "" {
		d, err := time.Parse(time.RFC3339, deadline)
		if err != nil {
			return fmt.Errorf("--deadline: %v", err)
		}
		p.Deadline = &d
	}
	p.Photos = photos.inputs(*ptype)
	c, err := t.open(ctx, client.Config{})
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := caseID(ctx, c, *cs)
	if err != nil {
		return err
	}
	if err := c.Act(ctx, id, *action, p); err != nil {
		return err
	}
	fmt.Fprintf(t.out(), "queued %s on case %s with %d photo(s)\n", *action, id, len(photos))
	return nil
}

func (t *tabletCmd) comment(ctx context.Context, args []string) error {
	fs := t.flags("comment")
	cs := fs.String("case", "", "case id (or a unique prefix)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(body) == "" {
		return usageError("fieldsync tablet comment --case ID TEXT")
	}
	c, err := t.open(ctx, client.Config{})
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := caseID(ctx, c, *cs)
	if err != nil {
		return err
	}
	if err := c.Comment(ctx, id, body); err != nil {
		return err
	}
	fmt.Fprintf(t.out(), "queued comment on case %s\n", id)
	return nil
}

func (t *tabletCmd) sync(ctx context.Context, args []string) error {
	c, err := t.openWithFlags(ctx, "sync", args)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.Sync(ctx)
	printReport(t.out(), r)
	return err
}

// printReport renders a sync report for people: counts, then every
// rejection and photo failure with the server's code, reason and hint.
func printReport(w io.Writer, r client.SyncReport) {
	fmt.Fprintf(w, "pushed %d: %d applied, %d merged, %d conflict(s), %d rejected", r.Pushed, r.Applied, r.Merged, r.Conflicts, r.Rejected)
	if r.EvidencePending > 0 {
		fmt.Fprintf(w, ", %d waiting for evidence", r.EvidencePending)
	}
	fmt.Fprintln(w)
	for _, o := range r.Rejections {
		fmt.Fprintf(w, "  rejected #%d (case %s): %s\n", o.Seq, o.CaseID, problemText(o.Code, o.Reason, o.Hint))
	}
	if r.Renumbered > 0 {
		fmt.Fprintf(w, "  %d command(s) renumbered after the server's sequence\n", r.Renumbered)
	}
	if r.AckError != "" {
		fmt.Fprintf(w, "  acknowledgement failed (retried next sync): %s\n", r.AckError)
	}
	fmt.Fprintf(w, "pulled %d page(s): %d case(s) updated, %d removed", r.Pages, r.Upserted, r.Removed)
	if r.Reset {
		fmt.Fprint(w, " (the server restarted the feed: cases it did not resend were dropped)")
	}
	fmt.Fprintln(w)
	ph := r.Photos
	fmt.Fprintf(w, "photos: %d uploaded, %d pending", ph.Uploaded, ph.Pending)
	if ph.WaitingForServer > 0 {
		fmt.Fprintf(w, ", %d waiting for server (it has no upload endpoint yet)", ph.WaitingForServer)
	}
	if len(ph.Failed) > 0 {
		fmt.Fprintf(w, ", %d failed", len(ph.Failed))
	}
	fmt.Fprintln(w)
	for _, f := range ph.Failed {
		fmt.Fprintf(w, "  photo %s failed: %s\n", f.PhotoID, problemText(f.Code, f.Reason, f.Hint))
	}
	for _, e := range ph.Errors {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

func problemText(code models.Code, reason, hint string) string {
	s := string(code)
	if reason != "" {
		s += ": " + reason
	}
	if hint != "" {
		s += " (hint: " + hint + ")"
	}
	return s
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func (t *tabletCmd) cases(ctx context.Context, args []string) error {
	c, err := t.openWithFlags(ctx, "cases", args)
	if err != nil {
		return err
	}
	defer c.Close()
	vs, err := c.Cases(ctx)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintln(t.out(), "no cases on this tablet (report one, or sync to pull)")
		return nil
	}
	tw := tabwriter.NewWriter(t.out(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCATEGORY\tVERSION\tPENDING\tCONFLICTS\tDESCRIPTION")
	for _, v := range vs {
		ver := strconv.FormatInt(v.Version, 10)
		if v.LocalOnly {
			ver = "local"
		}
		state := string(v.State)
		if len(v.Unpredicted) > 0 {
			state += " (+" + strings.Join(actionNames(v.Unpredicted), ",") + "?)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", v.ID, state, v.Category, ver, v.Pending, v.OpenConflicts(), clip(v.Description, 40))
	}
	return tw.Flush()
}

// openWithFlags parses a subcommand that takes only the common flags and
// opens the tablet's store.
func (t *tabletCmd) openWithFlags(ctx context.Context, name string, args []string) (*client.Client, error) {
	if err := t.flags(name).Parse(args); err != nil {
		return nil, err
	}
	return t.open(ctx, client.Config{})
}

func actionNames(as []models.Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

func (t *tabletCmd) conflicts(ctx context.Context, args []string) error {
	c, err := t.openWithFlags(ctx, "conflicts", args)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.Conflicts(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(t.out(), "no conflicts")
		return nil
	}
	tw := tabwriter.NewWriter(t.out(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tKIND\tFIELD\tKEPT\tKEPT BY\tSET ASIDE\tSET ASIDE BY\tSTATUS")
	for _, cf := range list {
		status := string(cf.Status)
		if cf.Resolution != "" {
			status += " (" + cf.Resolution + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cf.CaseID, cf.Kind, cf.Field, clip(cf.Kept, 30), cf.KeptBy.Name,
			clip(cf.SetAside, 30), cf.SetAsideBy.Name, status)
	}
	return tw.Flush()
}

func (t *tabletCmd) outbox(ctx context.Context, args []string) error {
	c, err := t.openWithFlags(ctx, "outbox", args)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.Outbox(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(t.out(), "the outbox is empty")
		return nil
	}
	tw := tabwriter.NewWriter(t.out(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSTATE\tKIND\tCASE\tOUTCOME\tCOMMAND")
	for _, e := range list {
		out := "-"
		if o := e.Outcome; o != nil {
			switch o.Status {
			case models.OutcomeRejected:
				out = "rejected " + problemText(o.Code, o.Reason, o.Hint)
			case models.OutcomeConflict:
				out = fmt.Sprintf("conflict v%d (%d set aside)", o.Version, len(o.ConflictID))
			default:
				out = string(o.Status)
				if o.Version > 0 {
					out += fmt.Sprintf(" v%d", o.Version)
				}
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.State, e.Kind, e.CaseID, out, clip(e.Summary, 50))
	}
	return tw.Flush()
}

func (t *tabletCmd) watch(ctx context.Context, args []string) error {
	fs := t.flags("watch")
	doSync := fs.Bool("sync", false, "sync on every change")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := t.open(ctx, client.Config{})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(t.out(), "watching %s for changes (Ctrl-C to stop)\n", c.ServerURL())
	err = c.Watch(ctx, func() {
		fmt.Fprintf(t.out(), "%s change on the server\n", time.Now().Format(time.TimeOnly))
		if *doSync {
			r, err := c.Sync(ctx)
			printReport(t.out(), r)
			if err != nil {
				fmt.Fprintf(t.env.Stderr, "sync: %v\n", err)
			}
		}
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}
