package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldsync/fieldsync/models"
)

type refdataVersionRow struct {
	ID        int `gorm:"primaryKey"`
	Version   int
	UpdatedAt *time.Time `gorm:"autoUpdateTime:false"`
}

func (refdataVersionRow) TableName() string { return "refdata_version" }

// RefData returns the whole reference data set with its version, read in one
// snapshot so the version matches the items.
func (d *DB) RefData(ctx context.Context) (models.RefData, error) {
	var rd models.RefData
	err := d.snapshot(ctx, func(tx *gorm.DB) error {
		var v refdataVersionRow
		if err := tx.Where("id = 1").Take(&v).Error; err != nil {
			return dbErr(err)
		}
		rd.Version = v.Version
		if v.UpdatedAt != nil {
			rd.UpdatedAt = utc(*v.UpdatedAt)
		}
		var cats []categoryRow
		if err := tx.Order("code").Find(&cats).Error; err != nil {
			return dbErr(err)
		}
		rd.Categories = make([]models.Category, len(cats))
		for i, r := range cats {
			rd.Categories[i] = r.model()
		}
		var orgs []orgUnitRow
		if err := tx.Order("path, code").Find(&orgs).Error; err != nil {
			return dbErr(err)
		}
		rd.Org = make([]models.OrgUnit, len(orgs))
		for i, r := range orgs {
			o, err := r.model()
			if err != nil {
				return corrupt("org unit", r.Code, err)
			}
			rd.Org[i] = o
		}
		var grids []gridRow
		if err := tx.Order("code").Find(&grids).Error; err != nil {
			return dbErr(err)
		}
		rd.Grids = make([]models.Grid, len(grids))
		for i, r := range grids {
			g, err := r.model()
			if err != nil {
				return corrupt("grid", r.Code, err)
			}
			rd.Grids[i] = g
		}
		var segs []roadSegmentRow
		if err := tx.Order("id").Find(&segs).Error; err != nil {
			return dbErr(err)
		}
		rd.Segments = make([]models.RoadSegment, len(segs))
		for i, r := range segs {
			s, err := r.model()
			if err != nil {
				return corrupt("road segment", r.ID, err)
			}
			rd.Segments[i] = s
		}
		var units []unitRow
		if err := tx.Order("id").Find(&units).Error; err != nil {
			return dbErr(err)
		}
		rd.Units = make([]models.Unit, len(units))
		for i, r := range units {
			rd.Units[i] = models.Unit{ID: r.ID, Name: r.Name, Kind: r.Kind, TownCode: r.TownCode}
		}
		return nil
	})
	return rd, err
}

// PutRefData inserts or replaces every item of rd (items it does not name are
// kept) and bumps the version, in one transaction. rd.Version and
// rd.UpdatedAt are ignored: the store sets them.
func (d *DB) PutRefData(ctx context.Context, rd models.RefData) error {
	return d.writeTx(ctx, func(tx *gorm.DB) error {
		cats := make([]categoryRow, len(rd.Categories))
		for i, c := range rd.Categories {
			cats[i] = toCategoryRow(c)
		}
		orgs := make([]orgUnitRow, len(rd.Org))
		for i, o := range rd.Org {
			orgs[i] = toOrgUnitRow(o)
		}
		grids := make([]gridRow, len(rd.Grids))
		for i, g := range rd.Grids {
			grids[i] = toGridRow(g)
		}
		segs := make([]roadSegmentRow, len(rd.Segments))
		for i, s := range rd.Segments {
			segs[i] = toRoadSegmentRow(s)
		}
		units := make([]unitRow, len(rd.Units))
		for i, u := range rd.Units {
			units[i] = unitRow{ID: u.ID, Name: u.Name, Kind: u.Kind, TownCode: u.TownCode}
		}
		if err := upsert(tx, cats, "code"); err != nil {
			return err
		}
		if err := upsert(tx, orgs, "code"); err != nil {
			return err
		}
		if err := upsert(tx, grids, "code"); err != nil {
			return err
		}
		if err := upsert(tx, segs, "id"); err != nil {
			return err
		}
		if err := upsert(tx, units, "id"); err != nil {
			return err
		}
		return bumpRefVersion(tx)
	})
}

// PutCategory inserts or replaces one category and bumps the version.
func (d *DB) PutCategory(ctx context.Context, c models.Category) error {
	return d.writeTx(ctx, func(tx *gorm.DB) error {
		if err := upsert(tx, []categoryRow{toCategoryRow(c)}, "code"); err != nil {
			return err
		}
		return bumpRefVersion(tx)
	})
}

func bumpRefVersion(tx *gorm.DB) error {
	return dbErr(tx.Model(&refdataVersionRow{}).Where("id = 1").Updates(map[string]any{
		"version":    gorm.Expr("version + 1"),
		"updated_at": ts(time.Now()),
	}).Error)
}

// upsert inserts rows, replacing every column of rows whose key exists, in
// batches of batchSize rows.
func upsert[T any](tx *gorm.DB, rows []T, key string) error {
	if len(rows) == 0 {
		return nil
	}
	err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: key}}, UpdateAll: true}).
		CreateInBatches(rows, batchSize).Error
	return dbErr(err)
}

// corrupt reports a stored value that cannot be decoded.
func corrupt(what string, key any, err error) error {
	return &models.Error{Code: models.CodeInternal, Message: "stored data cannot be read",
		Cause: &decodeError{what: what, key: key, err: err}}
}

type decodeError struct {
	what string
	key  any
	err  error
}

func (e *decodeError) Error() string {
	return fmt.Sprintf("store: decode %s %v: %v", e.what, e.key, e.err)
}

func (e *decodeError) Unwrap() error { return e.err }
