package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/demo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/sync"
	"github.com/google/uuid"
)

// DemoLogin is one demo account.
type DemoLogin struct {
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	Role     string `json:"role"`
	Name     string `json:"name"`
}

// DemoDevice is one enrolled demo tablet and its bearer token.
type DemoDevice struct {
	Name     string `json:"name"`
	Username string `json:"username"`
	Token    string `json:"token"`
}

// DemoInfo is what the demo mode prints at start.
type DemoInfo struct {
	Logins  []DemoLogin  `json:"logins"`
	Devices []DemoDevice `json:"devices"`
	Cases   int          `json:"cases"`
	Loaded  bool         `json:"loaded"` // false: the database already had data
}

// demoTokensFile keeps the demo device tokens: they are stored only as hashes,
// so this is the one place they can be read again after the first start.
const demoTokensFile = "demo-devices.json"

// LoadDemo loads the demo district into an empty database through the one
// write path, so every case has the history its commands produced. On a
// database that already has users it loads nothing and returns the logins.
func LoadDemo(ctx context.Context, st models.Store, now time.Time, seed uint64, log *slog.Logger) (*DemoInfo, error) {
	ds := demo.Generate(now, seed)
	info := &DemoInfo{}
	for _, u := range ds.Users {
		info.Logins = append(info.Logins, DemoLogin{Username: u.User.Username, Password: u.Password, Role: string(u.User.Role), Name: u.User.Name})
	}
	existing, err := st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return info, nil
	}
	info.Loaded = true
	if err := st.PutRefData(ctx, ds.RefData); err != nil {
		return nil, fmt.Errorf("reference data: %w", err)
	}
	users := map[string]models.User{}
	grids := map[string][]string{}
	for _, u := range ds.Users {
		m := u.User
		if u.Password != "" {
			if m.PasswordHash, err = auth.HashPassword(u.Password); err != nil {
				return nil, err
			}
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now.UTC()
		}
		if err := st.CreateUser(ctx, m); err != nil {
			return nil, fmt.Errorf("user %s: %w", m.Username, err)
		}
		if len(u.Grids) > 0 {
			if err := st.SetUserGrids(ctx, m.ID, u.Grids); err != nil {
				return nil, err
			}
		}
		users[m.Username], grids[m.Username] = m, u.Grids
	}
	devices := map[string]uuid.UUID{}
	for _, d := range ds.Devices {
		u, ok := users[d.Username]
		if !ok {
			return nil, fmt.Errorf("demo device %s names unknown user %s", d.Name, d.Username)
		}
		tok, hash, err := auth.NewToken(auth.PrefixDevice)
		if err != nil {
			return nil, err
		}
		dev := models.Device{ID: d.ID, UserID: u.ID, Name: d.Name, TokenHash: hash, CreatedAt: now.UTC().Add(-100 * 24 * time.Hour)}
		if err := st.CreateDevice(ctx, dev); err != nil {
			return nil, fmt.Errorf("device %s: %w", d.Name, err)
		}
		devices[d.Name] = d.ID
		info.Devices = append(info.Devices, DemoDevice{Name: d.Name, Username: d.Username, Token: tok})
	}
	ref, err := BuildReference(ctx, st)
	if err != nil {
		return nil, err
	}
	var clock time.Time
	// The demo's photos are placeholders without bytes: count them as arrived.
	eng := sync.New(sync.Config{Store: st, Ref: func() *sync.Reference { return ref }, Now: func() time.Time { return clock },
		Logger: log, AssumeEvidence: true})
	cases := map[uuid.UUID]bool{}
	rejected := 0
	for i, batch := range ds.Batches() {
		step := batch[0]
		u, ok := users[step.Username]
		if !ok {
			return nil, fmt.Errorf("demo batch %d names unknown user %s", i, step.Username)
		}
		actor := models.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, Scope: models.ScopeFor(u, grids[u.Username])}
		clock = step.At
		var outs []models.Outcome
		cmds := make([]models.Command, len(batch))
		for j, s := range batch {
			cmds[j] = s.Cmd
		}
		if step.DeviceName != "" {
			// A report's photos and its create_case go in one push, as a tablet sends them.
			actor.DeviceID = devices[step.DeviceName]
			res, err := eng.Push(ctx, actor, sync.PushRequest{Commands: cmds, DeviceTime: step.At})
			if err != nil {
				return nil, fmt.Errorf("demo batch %d: %w", i, err)
			}
			outs = res.Outcomes
		} else {
			for _, c := range cmds {
				o, err := eng.Apply(ctx, actor, c)
				if err != nil {
					return nil, fmt.Errorf("demo batch %d: %w", i, err)
				}
				outs = append(outs, o)
			}
		}
		for j, o := range outs {
			if o.Status == models.OutcomeRejected {
				rejected++
				log.Warn("demo step rejected", "batch", i, "kind", cmds[j].Kind, "action", cmds[j].Action, "code", o.Code, "reason", o.Reason)
			}
			if cmds[j].Kind == models.CmdCreateCase && o.Status == models.OutcomeApplied {
				cases[o.CaseID] = true
			}
		}
	}
	info.Cases = len(cases)
	if rejected > 0 {
		return nil, fmt.Errorf("demo data: %d commands were rejected", rejected)
	}
	slices.SortFunc(info.Devices, func(a, b DemoDevice) int { return compareStrings(a.Name, b.Name) })
	return info, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SaveDemoDevices writes the demo device tokens into the data directory
// (readable by the owner only), and ReadDemoDevices reads them back on later
// starts.
func SaveDemoDevices(dataDir string, devs []DemoDevice) error {
	b, err := json.MarshalIndent(devs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, demoTokensFile), b, 0o600)
}

// ReadDemoDevices reads the tokens SaveDemoDevices wrote; none if absent.
func ReadDemoDevices(dataDir string) []DemoDevice {
	b, err := os.ReadFile(filepath.Join(dataDir, demoTokensFile))
	if err != nil {
		return nil
	}
	var devs []DemoDevice
	if json.Unmarshal(b, &devs) != nil {
		return nil
	}
	return devs
}
