package api

import (
	"bufio"
	gocsv "encoding/csv"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// Exports write every case of the current filter (the query parameters of GET
// /api/v1/cases, ids included; limit and cursor are ignored) within the
// caller's scope, newest first. They stream: cases are read a page at a time
// through the same keyset cursor as the list and written as they come, so
// memory does not grow with the export. Each export is recorded in the audit
// log, with its format and filter, before the first case is written.

// exportPage is how many cases one read of an export takes.
const exportPage = 1000

// exportFormat writes one format.
type exportFormat struct {
	name        string // csv, geojson, kml
	contentType string
	begin       func(w *bufio.Writer) error
	item        func(w *bufio.Writer, c *models.Case, l *labels) error
	end         func(w *bufio.Writer) error
}

func (a *API) exportCSV(c *echo.Context) error {
	var cw *gocsv.Writer
	return a.export(c, exportFormat{name: "csv", contentType: "text/csv; charset=utf-8",
		begin: func(w *bufio.Writer) error {
			// The byte order mark tells Excel the file is UTF-8; without it
			// Chinese text opens as mojibake on a Chinese Windows.
			if _, err := w.WriteString("\uFEFF"); err != nil {
				return err
			}
			cw = gocsv.NewWriter(w)
			cw.UseCRLF = true
			return cw.Write(csvHeader)
		},
		item: func(w *bufio.Writer, cs *models.Case, l *labels) error {
			if err := cw.Write(csvRow(cs, l)); err != nil {
				return err
			}
			cw.Flush()
			return cw.Error()
		},
		end: func(w *bufio.Writer) error { cw.Flush(); return cw.Error() },
	})
}

// csvHeader are the CSV columns, in Chinese for the people who open it.
var csvHeader = []string{
	"案件编号", "类别代码", "类别名称", "状态", "问题描述", "地址", "纬度", "经度", "镇街", "网格", "责任单位", "上报人",
	"上报时间", "处置时限", "结案时间", "处置方式",
}

// cnTime formats a time for a spreadsheet: China time, a form Excel reads as
// a date and time.
func cnTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(models.ChinaTime()).Format("2006-01-02 15:04:05")
}

// cellText defuses a text cell that a spreadsheet would run as a formula
// (CSV injection): one starting with =, +, -, @, tab or carriage return gets
// a leading apostrophe, which Excel shows as text and hides.
func cellText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func gridLabel(code string, l *labels) string {
	if code == "" {
		return ""
	}
	if name := l.grids[code]; name != "" {
		// The name keeps a spreadsheet from reading the 14-digit code as a
		// number and showing it as 3.704E+13.
		return name + "（" + code + "）"
	}
	return code
}

func csvRow(c *models.Case, l *labels) []string {
	return []string{
		c.ID.String(), cellText(c.Category), cellText(l.category(c.Category)), models.StateLabelsZH[c.State],
		cellText(c.Description), cellText(c.Location.Address), coord(c.Location.Lat), coord(c.Location.Lon),
		cellText(orWord(l.town(c.TownCode), c.TownCode)), cellText(gridLabel(c.GridCode, l)),
		cellText(orWord(l.units[c.UnitID], c.UnitID)), cellText(l.users[c.ReporterID]),
		cnTime(&c.CreatedAt), cnTime(c.Deadline), cnTime(c.ClosedAt), cellText(c.Disposition),
	}
}

// geoFeature is one case as an RFC 7946 Feature.
type geoFeature struct {
	Type       string        `json:"type"`
	ID         string        `json:"id"`
	Geometry   geoPoint      `json:"geometry"`
	Properties geoProperties `json:"properties"`
}

type geoPoint struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"` // [lon, lat], WGS84
}

type geoProperties struct {
	Category     string     `json:"category"`
	CategoryName string     `json:"category_name"`
	State        string     `json:"state"`
	StateLabel   string     `json:"state_label"`
	Description  string     `json:"description"`
	Address      string     `json:"address"`
	Town         string     `json:"town"`
	TownName     string     `json:"town_name"`
	Grid         string     `json:"grid"`
	Unit         string     `json:"unit"`
	UnitName     string     `json:"unit_name"`
	Reporter     string     `json:"reporter"`
	CreatedAt    time.Time  `json:"created_at"`
	Deadline     *time.Time `json:"deadline,omitempty"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	Disposition  string     `json:"disposition"`
	ReworkCount  int        `json:"rework_count"`
	Overdue      bool       `json:"overdue"`
}

func (a *API) exportGeoJSON(c *echo.Context) error {
	first := true
	now := a.now()
	return a.export(c, exportFormat{name: "geojson", contentType: "application/geo+json",
		begin: func(w *bufio.Writer) error {
			// RFC 7946: WGS84 longitude, latitude; no crs member.
			_, err := w.WriteString(`{"type":"FeatureCollection","features":[`)
			return err
		},
		item: func(w *bufio.Writer, cs *models.Case, l *labels) error {
			f := geoFeature{Type: "Feature", ID: cs.ID.String(),
				Geometry: geoPoint{Type: "Point", Coordinates: [2]float64{cs.Location.Lon, cs.Location.Lat}},
				Properties: geoProperties{Category: cs.Category, CategoryName: l.category(cs.Category),
					State: string(cs.State), StateLabel: models.StateLabelsZH[cs.State], Description: cs.Description,
					Address: cs.Location.Address, Town: cs.TownCode, TownName: l.town(cs.TownCode), Grid: cs.GridCode,
					Unit: cs.UnitID, UnitName: l.units[cs.UnitID], Reporter: l.users[cs.ReporterID],
					CreatedAt: cs.CreatedAt, Deadline: cs.Deadline, ClosedAt: cs.ClosedAt, Disposition: cs.Disposition,
					ReworkCount: cs.ReworkCount, Overdue: cs.Overdue(now)}}
			b, err := json.Marshal(f)
			if err != nil {
				return err
			}
			if !first {
				if err := w.WriteByte(','); err != nil {
					return err
				}
			}
			first = false
			_, err = w.Write(b)
			return err
		},
		end: func(w *bufio.Writer) error { _, err := w.WriteString("]}\n"); return err },
	})
}

func (a *API) exportKML(c *echo.Context) error {
	return a.export(c, exportFormat{name: "kml", contentType: "application/vnd.google-earth.kml+xml",
		begin: func(w *bufio.Writer) error {
			_, err := w.WriteString(xml.Header + `<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>fieldsync 案件导出</name>` + "\n")
			return err
		},
		item: func(w *bufio.Writer, cs *models.Case, l *labels) error {
			return writePlacemark(w, cs, l)
		},
		end: func(w *bufio.Writer) error { _, err := w.WriteString("</Document></kml>\n"); return err },
	})
}

// writePlacemark writes one case as a KML 2.2 Placemark: a Point at
// lon,lat, its name and description, and its attributes as ExtendedData.
func writePlacemark(w *bufio.Writer, c *models.Case, l *labels) error {
	esc := func(s string) {
		// EscapeText also replaces characters XML cannot carry with U+FFFD.
		_ = xml.EscapeText(w, []byte(s))
	}
	// An XML id must not start with a digit, which a UUID may.
	w.WriteString(`<Placemark id="case-` + c.ID.String() + `"><name>`)
	esc(orWord(l.category(c.Category), c.Category) + " · " + models.StateLabelsZH[c.State])
	w.WriteString(`</name><description>`)
	esc(c.Description)
	w.WriteString(`</description><TimeStamp><when>` + c.CreatedAt.UTC().Format(time.RFC3339) + `</when></TimeStamp><ExtendedData>`)
	for _, kv := range [][2]string{
		{"id", c.ID.String()}, {"category", c.Category}, {"category_name", l.category(c.Category)},
		{"state", string(c.State)}, {"state_label", models.StateLabelsZH[c.State]}, {"address", c.Location.Address},
		{"town", c.TownCode}, {"town_name", l.town(c.TownCode)}, {"grid", c.GridCode}, {"unit", c.UnitID},
		{"unit_name", l.units[c.UnitID]}, {"reporter", l.users[c.ReporterID]}, {"created_at", cnTime(&c.CreatedAt)},
		{"deadline", cnTime(c.Deadline)}, {"closed_at", cnTime(c.ClosedAt)}, {"disposition", c.Disposition},
	} {
		w.WriteString(`<Data name="` + kv[0] + `"><value>`)
		esc(kv[1])
		w.WriteString(`</value></Data>`)
	}
	w.WriteString(`</ExtendedData><Point><coordinates>` + coord(c.Location.Lon) + "," + coord(c.Location.Lat) +
		`</coordinates></Point></Placemark>` + "\n")
	return nil
}

// export streams the cases of the current filter in format f.
func (a *API) export(c *echo.Context, f exportFormat) error {
	actor, err := requireRole(c, statsRoles...)
	if err != nil {
		return err
	}
	q, err := a.caseQuery(c, actor)
	if err != nil {
		return err
	}
	ids, err := idsParam(c)
	if err != nil {
		return err
	}
	q.After, q.Limit = uuid.Nil, exportPage
	ctx := c.Request().Context()
	l, err := a.loadLabels(ctx, true)
	if err != nil {
		return err
	}
	page, err := a.pageCases(ctx, q, ids)
	if err != nil {
		return err
	}
	detail := map[string]any{"format": f.name, "filter": filterText(c)}
	if err := a.record(ctx, actor, models.AuditExport, uuid.Nil, detail); err != nil {
		return &models.Error{Code: models.CodeUnavailable, Message: "the export could not be recorded in the audit log; try again",
			Cause: err}
	}
	now := a.now().In(models.ChinaTime())
	h := c.Response().Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Disposition", `attachment; filename="cases-`+now.Format("20060102-150405")+"."+f.name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.Response())
	w := bufio.NewWriterSize(c.Response(), 64<<10)
	fail := func(err error) error {
		// The status is sent: all that is left is to break the connection,
		// so the client sees a failed download rather than a short file.
		a.log.ErrorContext(ctx, "export failed midway", "request_id", requestIDOf(c.Request()), "format", f.name, "err", err)
		panic(http.ErrAbortHandler)
	}
	if err := f.begin(w); err != nil {
		return fail(err)
	}
	for {
		for i := range page {
			if err := f.item(w, &page[i], l); err != nil {
				return fail(err)
			}
		}
		if len(page) < exportPage {
			break
		}
		if err := w.Flush(); err != nil {
			return fail(err)
		}
		_ = rc.Flush()
		q.After = page[len(page)-1].ID
		if page, err = a.pageCases(ctx, q, ids); err != nil {
			return fail(err)
		}
	}
	if err := f.end(w); err != nil {
		return fail(err)
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	return nil
}
