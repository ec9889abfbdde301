package uploads

import (
	"bytes"
	"math"
	"runtime"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
)

// knownEXIFFlags are every flag ParseEXIF may report.
var knownEXIFFlags = []string{flagEXIFUnparseable, flagEXIFGPSInvalid, flagEXIFAltitudeInvalid, flagEXIFTimeInvalid, flagEXIFOrientationInvalid}

// allocBytes returns the bytes f allocated (process-wide; fuzz targets and
// seed runs call it sequentially).
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzParseEXIF feeds arbitrary files (seeded with every crafted EXIF case)
// to ParseEXIF: it must not panic, must not fail on an in-memory reader,
// must allocate little whatever the counts and offsets claim, and whatever
// it returns must be valid.
func FuzzParseEXIF(f *testing.F) {
	for _, tc := range exifCases() {
		f.Add(tc.file)
	}
	f.Add(withPNGExif(encodePNGForTest(solid(2, 2, red)), tiffBuilder{gps: gpsFields(le, "N", 36, 39, 0, "E", 117, 0, 0)}.build()))
	f.Fuzz(func(t *testing.T, file []byte) {
		var info *models.EXIFInfo
		var flags []string
		var err error
		n := allocBytes(func() { info, flags, err = ParseEXIF(bytes.NewReader(file), int64(len(file))) })
		if err != nil {
			t.Fatalf("err = %v from an in-memory reader", err)
		}
		// One segment (≤ 64 KiB) plus bookkeeping, whatever the input claims.
		if n > 1<<20 {
			t.Fatalf("ParseEXIF allocated %d bytes", n)
		}
		seen := map[string]bool{}
		for _, fl := range flags {
			if !slices.Contains(knownEXIFFlags, fl) || seen[fl] {
				t.Fatalf("flags = %q", flags)
			}
			seen[fl] = true
		}
		if info == nil {
			return
		}
		if (info.Lat == nil) != (info.Lon == nil) {
			t.Fatalf("half a position: %v %v", info.Lat, info.Lon)
		}
		if info.Lat != nil {
			la, lo := *info.Lat, *info.Lon
			if math.IsNaN(la) || math.IsNaN(lo) || la < -90 || la > 90 || lo < -180 || lo > 180 || (la == 0 && lo == 0) {
				t.Fatalf("position %v,%v", la, lo)
			}
		}
		if a := info.Altitude; a != nil && (math.IsNaN(*a) || *a < minAltitude || *a > maxAltitude) {
			t.Fatalf("altitude %v", *a)
		}
		if info.Orientation < 0 || info.Orientation > 8 {
			t.Fatalf("orientation %d", info.Orientation)
		}
		if ta := info.TakenAt; ta != nil && (ta.Year() < 1989 || ta.Year() > 2101) {
			t.Fatalf("taken at %v", ta)
		}
		if info.OffsetTime != "" && info.TakenAt == nil {
			t.Fatalf("offset %q without a time", info.OffsetTime)
		}
		for _, s := range []string{info.Make, info.Model} {
			if len(s) > exifMaxASCII || !utf8.ValidString(s) {
				t.Fatalf("string %q", s)
			}
		}
	})
}
