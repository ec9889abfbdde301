// Package demo generates a realistic, deterministic demo district: 市中区
// (370402) of Zaozhuang, Shandong, with its towns and street offices, villages
// and communities, unit grids, road segments, responsible units, users of every
// role with their devices, and about two hundred cases with their whole
// history, expressed as the sync commands that produce them.
//
// The same (now, seed) always gives the same Dataset, byte for byte. Nothing
// here does I/O: the server loads a Dataset through its one write path.
package demo

import (
	"cmp"
	"slices"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// Dataset is a whole demo district: reference data, users, their devices, and
// the commands that build the cases.
type Dataset struct {
	RefData models.RefData
	Users   []User
	Devices []Device
	// Steps are in the order to apply them, by At. A create_case step and the
	// add_photo steps just before it that name its photos share the same At
	// and device: push them in one batch, because the server refuses a photo
	// whose case never arrives in the same push.
	Steps []Step
}

// User is a demo account: the user, their demo password ("" for none) and the
// responsibility grids bound to them (grid workers).
type User struct {
	User     models.User
	Password string
	Grids    []string
}

// Device is an enrolled demo tablet or phone of a field user.
type Device struct {
	ID       uuid.UUID
	Name     string
	Username string
}

// Step is one command as a user sends it: from a device (DeviceName set, Seq
// set, increasing from 1 per device) or from the console (DeviceName "", Seq
// 0). At is the server time to apply it at; Cmd.ClientTime is the device
// clock when the command was made, at or before At.
type Step struct {
	Username   string
	DeviceName string // "" = console
	At         time.Time
	Cmd        models.Command
}

// Generate builds the demo district as it stands at now: cases spread over the
// 90 days before now, every step at or before now. The same now and seed give
// the same Dataset.
func Generate(now time.Time, seed uint64) Dataset {
	g := newGen(now.UTC(), seed)
	g.buildGeography()
	g.buildPeople()
	g.buildCases()
	return g.dataset()
}

// dataset sorts the steps into application order and fills in what depends on
// that order: per-device sequence numbers, case versions and command ids.
func (g *gen) dataset() Dataset {
	var steps []Step
	for _, c := range g.cases {
		steps = append(steps, c.steps...)
	}
	// Stable: the photos of a report keep their place just before its create.
	slices.SortStableFunc(steps, func(a, b Step) int { return a.At.Compare(b.At) })

	seq := map[string]int64{}
	clock := map[string]time.Time{}
	version := map[uuid.UUID]int64{}
	for i := range steps {
		s := &steps[i]
		if s.DeviceName != "" {
			seq[s.DeviceName]++
			s.Cmd.Seq = seq[s.DeviceName]
			// A device's clock does not run backwards between its commands.
			if prev := clock[s.DeviceName]; s.Cmd.ClientTime.Before(prev) {
				s.Cmd.ClientTime = prev
			}
			clock[s.DeviceName] = s.Cmd.ClientTime
		}
		id := s.Cmd.CaseID
		s.Cmd.BaseVersion = version[id]
		switch {
		case s.Cmd.Kind == models.CmdCreateCase:
			version[id] = 1
		case version[id] > 0:
			// Every command on an existing case bumps its version: actions,
			// comments and photos alike. Photos before the create do not.
			version[id]++
		}
		s.Cmd.ID = g.uuid7(s.Cmd.ClientTime)
	}

	ds := Dataset{RefData: g.rd, Steps: steps}
	for _, p := range g.people {
		ds.Users = append(ds.Users, User{User: p.user, Password: p.password, Grids: slices.Clone(p.grids)})
		if p.device != nil {
			ds.Devices = append(ds.Devices, *p.device)
		}
	}
	slices.SortFunc(ds.Devices, func(a, b Device) int { return cmp.Compare(a.Name, b.Name) })
	return ds
}

// Batches groups the steps the way a device sends them: consecutive steps of
// one device at one time form one push (a report's photos with its
// create_case, a fix's after photo with its report_done); every console step
// is a batch of its own. Applying the batches in order, each device batch in
// one push, gives the cases and their history.
func (ds Dataset) Batches() [][]Step {
	var out [][]Step
	for i := 0; i < len(ds.Steps); {
		j := i + 1
		if d := ds.Steps[i].DeviceName; d != "" {
			for j < len(ds.Steps) && ds.Steps[j].DeviceName == d && ds.Steps[j].At.Equal(ds.Steps[i].At) {
				j++
			}
		}
		out = append(out, ds.Steps[i:j:j])
		i = j
	}
	return out
}
