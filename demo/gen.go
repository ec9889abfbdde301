package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"time"

	"github.com/fieldsync/fieldsync/geo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/refdata"
	"github.com/google/uuid"
)

// gen holds the generator's state. Every random choice comes from r, in a
// fixed order, so a seed always gives the same district.
type gen struct {
	now time.Time
	r   *rand.Rand
	cal models.Calendar

	rd   models.RefData
	loc  *geo.Locator
	cats map[string]models.Category

	towns    []*town
	townByID map[string]*town
	villages map[string]*village
	grids    map[string]*cell // by grid code
	segs     []*segment
	units    map[string]models.Unit

	people     []*person
	byUsername map[string]*person
	usedNames  map[string]bool

	cases []*simCase
}

func newGen(now time.Time, seed uint64) *gen {
	cats, err := refdata.Categories()
	if err != nil {
		// The category file is embedded and tested: this is a build defect.
		panic("demo: embedded categories do not parse: " + err.Error())
	}
	g := &gen{
		now:        now,
		r:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		cal:        models.DefaultCalendar(),
		cats:       map[string]models.Category{},
		townByID:   map[string]*town{},
		villages:   map[string]*village{},
		grids:      map[string]*cell{},
		units:      map[string]models.Unit{},
		byUsername: map[string]*person{},
	}
	for _, c := range cats {
		g.cats[c.Code] = c
	}
	g.rd.Categories = cats
	g.rd.Version = 1
	g.rd.UpdatedAt = now.Add(-100 * 24 * time.Hour)
	return g
}

// between returns a uniform float in [lo, hi).
func (g *gen) between(lo, hi float64) float64 { return lo + g.r.Float64()*(hi-lo) }

// dur returns a uniform duration in [lo, hi), to the second.
func (g *gen) dur(lo, hi time.Duration) time.Duration {
	d := lo + time.Duration(g.r.Int64N(int64(hi-lo)))
	return d.Truncate(time.Second)
}

// chance reports true with probability p.
func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// pick returns a uniformly chosen element.
func pick[T any](g *gen, s []T) T { return s[g.r.IntN(len(s))] }

// weighted returns a key chosen with the given weights; keys are tried in
// slice order so the choice is deterministic.
func weighted(g *gen, items []wItem) string {
	total := 0
	for _, it := range items {
		total += it.w
	}
	n := g.r.IntN(total)
	for _, it := range items {
		if n < it.w {
			return it.key
		}
		n -= it.w
	}
	return items[len(items)-1].key
}

type wItem struct {
	key string
	w   int
}

// uuid4 returns a random-looking version 4 UUID drawn from the seeded source.
func (g *gen) uuid4() uuid.UUID {
	var u uuid.UUID
	for i := 0; i < 16; i += 8 {
		v := g.r.Uint64()
		for j := range 8 {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// uuid7 returns a version 7 UUID whose time field is t (milliseconds since
// the epoch) and whose random bits come from the seeded source, so ids sort
// by the time they were minted, like ids minted on devices.
func (g *gen) uuid7(t time.Time) uuid.UUID {
	u := g.uuid4()
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (8 * (5 - i)))
	}
	u[6] = u[6]&0x0f | 0x70
	return u
}

// fakeSHA256 returns a stable stand-in for a photo's content hash.
func fakeSHA256(id uuid.UUID) string {
	sum := sha256.Sum256([]byte("fieldsync demo photo " + id.String()))
	return hex.EncodeToString(sum[:])
}

// china is the zone that working hours are read in.
var china = models.ChinaTime()
