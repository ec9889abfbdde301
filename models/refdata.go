package models

import (
	"time"

	"github.com/google/uuid"
)

// Category is an event (事件) or component (部件) category with its national code.
type Category struct {
	Code      string // E0504
	Kind      string // event or component
	GroupCode string // E05
	GroupZH   string
	GroupEN   string
	NameZH    string
	NameEN    string
	Source    string // national or local
	Quantity  string // "", area_m2, length_m or count: what the district sums for it
	Limit     TimeLimit
	Disabled  bool
}

// TimeLimit is how long a unit has to handle a case of a category.
type TimeLimit struct {
	Value int
	Unit  LimitUnit
}

// LimitUnit is the clock a time limit runs on.
type LimitUnit string

// Time limit units.
const (
	LimitHours     LimitUnit = "hours"      // continuous hours (urgent)
	LimitWorkHours LimitUnit = "work_hours" // working hours on working days
	LimitWorkDays  LimitUnit = "work_days"  // working days (holiday calendar)
	LimitDays      LimitUnit = "days"       // natural days
)

// OrgLevel is the level of a node in the org tree.
type OrgLevel string

// Org levels.
const (
	LevelDistrict OrgLevel = "district"
	LevelTown     OrgLevel = "town"
	LevelVillage  OrgLevel = "village"
)

// OrgUnit is a node of the org tree: the district, a town or street office, a
// village or community.
type OrgUnit struct {
	Code       string
	ParentCode string
	Level      OrgLevel
	Name       string
	Path       string // slash-separated codes from the district down to this node
	// Boundary is the GeoJSON polygon (rings of [lon, lat]) of a town or
	// village, used when no grid contains a point (属地兜底); nil when unknown.
	Boundary [][][2]float64
	Center   [2]float64 // [lon, lat], for labels and nearest-town fallback
}

// Grid is a unit or responsibility grid with its boundary.
type Grid struct {
	Code        string // 14 digits, opaque
	Name        string
	VillageCode string
	TownCode    string
	OrgPath     string         // path of the village plus the grid code
	Polygon     [][][2]float64 // GeoJSON polygon rings of [lon, lat]
	MinLat      float64
	MinLon      float64
	MaxLat      float64
	MaxLon      float64
	WorkerID    uuid.UUID // the bound grid worker, if any
}

// RoadSegment is a 路段 with its accountable leader (路段长).
type RoadSegment struct {
	ID       string
	Name     string
	TownCode string
	Leader   string
	Line     [][2]float64 // GeoJSON LineString of [lon, lat]
}

// Unit is a responsible unit that cases are dispatched to (环卫中心, 镇街, 执法中队, 物业).
type Unit struct {
	ID       string
	Name     string
	Kind     string
	TownCode string
}

// RefData is the whole reference data set, with its version.
type RefData struct {
	Version    int
	Categories []Category
	Org        []OrgUnit
	Grids      []Grid
	Segments   []RoadSegment
	Units      []Unit
	UpdatedAt  time.Time
}
