package uploads

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image/color"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

var le = binary.LittleEndian

// baseJPEG is a small JPEG the EXIF cases are attached to.
var baseJPEG = sync.OnceValue(func() []byte {
	return encodeJPEGForTest(solid(8, 8, color.RGBA{10, 120, 200, 255}), 80)
})

func u32p(v uint32) *uint32 { return &v }

// exifCase is one hand-crafted EXIF input and what ParseEXIF must make of it.
type exifCase struct {
	name  string
	file  []byte // the whole file given to ParseEXIF
	check func(t *testing.T, info *models.EXIFInfo)
	flags []string
}

func jpegWith(b tiffBuilder) []byte { return withEXIF(baseJPEG(), b.build()) }

func near(a *float64, want float64) bool { return a != nil && math.Abs(*a-want) < 1e-6 }

func exifCases() []exifCase {
	jinan := gpsFields(le, "N", 36, 39, 0, "E", 117, 0, 0) // 36.65°N, 117.0°E
	cases := []exifCase{
		{name: "no exif", file: baseJPEG(), check: func(t *testing.T, info *models.EXIFInfo) {
			if info != nil {
				t.Errorf("info = %+v, want nil", info)
			}
		}},
		{name: "not an image", file: []byte("hello, this is not a photo at all"), check: func(t *testing.T, info *models.EXIFInfo) {
			if info != nil {
				t.Errorf("info = %+v, want nil", info)
			}
		}},
		{name: "full valid little-endian", file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fASCII(tagMake, "HUAWEI"), fASCII(tagModel, "ELS-AN00"), fShort(le, tagOrientation, 6)},
			exif: []tiffField{fASCII(tagDateTimeOriginal, "2024:05:01 14:03:22"), fASCII(tagOffsetTimeOriginal, "+08:00")},
			gps:  append(jinan, fByte(tagGPSAltitudeRef, 0), fRationals(le, tagGPSAltitude, 1505, 10)),
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil {
				t.Fatal("info = nil")
			}
			if info.Make != "HUAWEI" || info.Model != "ELS-AN00" || info.Orientation != 6 {
				t.Errorf("make/model/orientation = %q %q %d", info.Make, info.Model, info.Orientation)
			}
			if !near(info.Lat, 36.65) || !near(info.Lon, 117) || !near(info.Altitude, 150.5) {
				t.Errorf("gps = %v %v %v", deref(info.Lat), deref(info.Lon), deref(info.Altitude))
			}
			want := time.Date(2024, 5, 1, 6, 3, 22, 0, time.UTC)
			if info.TakenAt == nil || !info.TakenAt.Equal(want) || info.OffsetTime != "+08:00" {
				t.Errorf("taken = %v %q, want %v +08:00", info.TakenAt, info.OffsetTime, want)
			}
		}},
		{name: "full valid big-endian south west below sea", file: jpegWith(tiffBuilder{
			bo:   binary.BigEndian,
			ifd0: []tiffField{fShort(binary.BigEndian, tagOrientation, 3)},
			gps: append(gpsFields(binary.BigEndian, "S", 33, 52, 0, "W", 70, 30, 0),
				fByte(tagGPSAltitudeRef, 1), fRationals(binary.BigEndian, tagGPSAltitude, 20, 1)),
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Orientation != 3 || !near(info.Lat, -33-52.0/60) || !near(info.Lon, -70.5) || !near(info.Altitude, -20) {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "time without offset is a UTC wall clock", file: jpegWith(tiffBuilder{
			exif: []tiffField{fASCII(tagDateTimeOriginal, "2023-12-31 23:59:59")},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			want := time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC)
			if info == nil || info.TakenAt == nil || !info.TakenAt.Equal(want) || info.OffsetTime != "" {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "offset falls back to OffsetTime", file: jpegWith(tiffBuilder{
			exif: []tiffField{fASCII(tagDateTimeOriginal, "2024:01:02 03:04:05"), fASCII(tagOffsetTime, "-03:30")},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			want := time.Date(2024, 1, 2, 6, 34, 5, 0, time.UTC)
			if info == nil || info.TakenAt == nil || !info.TakenAt.Equal(want) || info.OffsetTime != "-03:30" {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "zero date dropped", flags: []string{flagEXIFTimeInvalid}, file: jpegWith(tiffBuilder{
			exif: []tiffField{fASCII(tagDateTimeOriginal, "0000:00:00 00:00:00")},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.TakenAt != nil {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "blank date dropped", flags: []string{flagEXIFTimeInvalid}, file: jpegWith(tiffBuilder{
			exif: []tiffField{fASCII(tagDateTimeOriginal, "    :  :     :  :  ")},
		}), check: noTime},
		{name: "clock reset to 1970 dropped", flags: []string{flagEXIFTimeInvalid}, file: jpegWith(tiffBuilder{
			exif: []tiffField{fASCII(tagDateTimeOriginal, "1970:01:01 00:00:12")},
		}), check: noTime},
		{name: "impossible day dropped", flags: []string{flagEXIFTimeInvalid}, file: jpegWith(tiffBuilder{
			exif: []tiffField{fASCII(tagDateTimeOriginal, "2024:02:30 10:00:00")},
		}), check: noTime},
		{name: "bad offset dropped, time kept", flags: []string{flagEXIFTimeInvalid}, file: jpegWith(tiffBuilder{
			exif: []tiffField{fASCII(tagDateTimeOriginal, "2024:05:01 14:03:22"), fASCII(tagOffsetTimeOriginal, "+25:00")},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.TakenAt == nil || info.OffsetTime != "" {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "latitude 95 dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: gpsFields(le, "N", 95, 0, 0, "E", 117, 0, 0),
		}), check: noGPS},
		{name: "longitude 181 dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: gpsFields(le, "N", 36, 0, 0, "W", 181, 0, 0),
		}), check: noGPS},
		{name: "zero denominators dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: []tiffField{
				fASCII(tagGPSLatitudeRef, "N"), fRationals(le, tagGPSLatitude, 0, 0, 0, 0, 0, 0),
				fASCII(tagGPSLongitudeRef, "E"), fRationals(le, tagGPSLongitude, 117, 1, 0, 0, 0, 0),
			},
		}), check: noGPS},
		{name: "huge values dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: []tiffField{
				fASCII(tagGPSLatitudeRef, "N"), fRationals(le, tagGPSLatitude, math.MaxUint32, 1, 0, 1, 0, 1),
				fASCII(tagGPSLongitudeRef, "E"), fRationals(le, tagGPSLongitude, math.MaxUint32, 1, math.MaxUint32, 1, math.MaxUint32, 1),
			},
		}), check: noGPS},
		{name: "minutes over 60 dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: gpsFields(le, "N", 36, 75, 0, "E", 117, 0, 0),
		}), check: noGPS},
		{name: "null island dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: gpsFields(le, "N", 0, 0, 0, "E", 0, 0, 0),
		}), check: noGPS},
		{name: "missing reference dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: gpsFields(le, "N", 36, 0, 0, "E", 117, 0, 0)[1:],
		}), check: noGPS},
		{name: "unknown reference dropped", flags: []string{flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: gpsFields(le, "Q", 36, 0, 0, "E", 117, 0, 0),
		}), check: noGPS},
		{name: "gps ifd with only a version is no claim", file: jpegWith(tiffBuilder{
			gps: []tiffField{{tag: 0, typ: tiffByte, count: 4, data: []byte{2, 3, 0, 0}}},
		}), check: noGPS},
		{name: "altitude 12000 dropped, position kept", flags: []string{flagEXIFAltitudeInvalid}, file: jpegWith(tiffBuilder{
			gps: append(gpsFields(le, "N", 36, 39, 0, "E", 117, 0, 0), fRationals(le, tagGPSAltitude, 12000, 1)),
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Altitude != nil || !near(info.Lat, 36.65) {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "altitude zero denominator dropped", flags: []string{flagEXIFAltitudeInvalid}, file: jpegWith(tiffBuilder{
			gps: append(gpsFields(le, "N", 36, 39, 3600, "E", 117, 0, 0), fRationals(le, tagGPSAltitude, 5, 0)),
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Altitude != nil {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "altitude 600 below sea level dropped", flags: []string{flagEXIFAltitudeInvalid}, file: jpegWith(tiffBuilder{
			gps: append(gpsFields(le, "N", 36, 39, 3600, "E", 117, 0, 0), fByte(tagGPSAltitudeRef, 1), fRationals(le, tagGPSAltitude, 600, 1)),
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Altitude != nil {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "make and model cleaned", file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fASCII(tagMake, "  Xiaomi\x07\x1b[31m  "), {tag: tagModel, typ: tiffASCII, count: 300, data: bytes.Repeat([]byte("M"), 300)}},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Make != "Xiaomi[31m" || info.Model != strings.Repeat("M", exifMaxASCII) {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "count of 2^31 entries", flags: []string{flagEXIFUnparseable}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fRaw(tagMake, tiffASCII, 1<<31, 8), fShort(le, tagOrientation, 8), fRaw(tagModel, tiffRational, 1<<31, 8)},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Make != "" || info.Orientation != 8 {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "count of 2^32-1 rationals for latitude", flags: []string{flagEXIFUnparseable, flagEXIFGPSInvalid}, file: jpegWith(tiffBuilder{
			gps: []tiffField{fASCII(tagGPSLatitudeRef, "N"), fRaw(tagGPSLatitude, tiffRational, math.MaxUint32, 8),
				fASCII(tagGPSLongitudeRef, "E"), fRationals(le, tagGPSLongitude, 117, 1, 0, 1, 0, 1)},
		}), check: noGPS},
		{name: "ifd loop: exif pointer back to ifd0", flags: []string{flagEXIFUnparseable}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fShort(le, tagOrientation, 2), fRaw(tagExifIFD, tiffLong, 1, 8)},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Orientation != 2 {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "ifd loop: gps and exif the same ifd", flags: []string{flagEXIFUnparseable}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fRaw(tagGPSIFD, tiffLong, 1, 8+2+2*12+4)},
			exif: []tiffField{fASCII(tagDateTimeOriginal, "2024:05:01 14:03:22")},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.TakenAt == nil {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "gps offset past the end", flags: []string{flagEXIFUnparseable}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fShort(le, tagOrientation, 1), fRaw(tagGPSIFD, tiffLong, 1, 0xFFFFFFF0)},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Orientation != 1 || info.Lat != nil {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "value offset past the end", flags: []string{flagEXIFUnparseable}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fRaw(tagMake, tiffASCII, 20, 0xFFFFFFFF), fShort(le, tagOrientation, 5)},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Orientation != 5 || info.Make != "" {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "ifd0 offset past the end", flags: []string{flagEXIFUnparseable}, file: jpegWith(tiffBuilder{
			ifd0Offset: u32p(0x7FFFFFFF), ifd0: []tiffField{fShort(le, tagOrientation, 5)},
		}), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Orientation != 0 {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "entry count 65535 in a tiny segment", flags: []string{flagEXIFUnparseable}, file: withEXIF(baseJPEG(),
			[]byte{'I', 'I', 42, 0, 8, 0, 0, 0, 0xFF, 0xFF, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 7, 0, 0, 0}),
			check: func(t *testing.T, info *models.EXIFInfo) {
				if info == nil || info.Orientation != 7 {
					t.Errorf("info = %+v", info)
				}
			}},
		{name: "orientation 0 ignored", flags: []string{flagEXIFOrientationInvalid}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fShort(le, tagOrientation, 0)},
		}), check: orientationIs(0)},
		{name: "orientation 9 ignored", flags: []string{flagEXIFOrientationInvalid}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fShort(le, tagOrientation, 9)},
		}), check: orientationIs(0)},
		{name: "orientation as rational ignored", flags: []string{flagEXIFOrientationInvalid}, file: jpegWith(tiffBuilder{
			ifd0: []tiffField{fRationals(le, tagOrientation, 6, 1)},
		}), check: orientationIs(0)},
		{name: "bad byte order", flags: []string{flagEXIFUnparseable}, file: withEXIF(baseJPEG(), []byte("XX\x2a\x00\x08\x00\x00\x00")), check: isNil},
		{name: "bad magic", flags: []string{flagEXIFUnparseable}, file: jpegWith(tiffBuilder{magic: 43}), check: isNil},
		{name: "empty tiff", flags: []string{flagEXIFUnparseable}, file: withEXIF(baseJPEG(), nil), check: isNil},
		{name: "segment longer than the file", flags: []string{flagEXIFUnparseable},
			file: append([]byte{0xFF, 0xD8}, app1(tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, 6)}}.build(), 60000)...), check: isNil},
		{name: "exif after a padded marker and other segments", file: append(append([]byte{0xFF, 0xD8, 0xFF, 0xFF,
			0xE0, 0, 4, 'J', 'F', 0xFF, 0xE1, 0, 8, 'h', 't', 't', 'p', ':', '/'},
			app1(tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, 4)}}.build(), 2+6+len(tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, 4)}}.build()))...), baseJPEG()[2:]...),
			check: orientationIs(4)},
		{name: "exif after the scan is not read", file: append(slices.Clone(baseJPEG()), jpegWith(tiffBuilder{
			ifd0: []tiffField{fShort(le, tagOrientation, 6)}})...), check: isNil},
		{name: "png eXIf chunk", file: withPNGExif(encodePNGForTest(solid(4, 4, color.RGBA{1, 2, 3, 255})), tiffBuilder{
			ifd0: []tiffField{fShort(le, tagOrientation, 8), fASCII(tagMake, "Apple")},
		}.build()), check: func(t *testing.T, info *models.EXIFInfo) {
			if info == nil || info.Orientation != 8 || info.Make != "Apple" {
				t.Errorf("info = %+v", info)
			}
		}},
	}
	for o := 1; o <= 8; o++ {
		cases = append(cases, exifCase{
			name:  "orientation " + string(rune('0'+o)),
			file:  jpegWith(tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, uint16(o))}}),
			check: orientationIs(o),
		})
	}
	return cases
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func isNil(t *testing.T, info *models.EXIFInfo) {
	t.Helper()
	if info != nil {
		t.Errorf("info = %+v, want nil", info)
	}
}

func noTime(t *testing.T, info *models.EXIFInfo) {
	t.Helper()
	if info == nil || info.TakenAt != nil || info.OffsetTime != "" {
		t.Errorf("info = %+v, want no time", info)
	}
}

func noGPS(t *testing.T, info *models.EXIFInfo) {
	t.Helper()
	if info == nil || info.Lat != nil || info.Lon != nil {
		t.Errorf("info = %+v, want no position", info)
	}
}

func orientationIs(o int) func(*testing.T, *models.EXIFInfo) {
	return func(t *testing.T, info *models.EXIFInfo) {
		t.Helper()
		if info == nil || info.Orientation != o {
			t.Errorf("info = %+v, want orientation %d", info, o)
		}
	}
}

// exifResult is ParseEXIF's output as it is stored in the golden file.
type exifResult struct {
	Name  string   `json:"name"`
	Info  any      `json:"info"`
	Flags []string `json:"flags"`
}

func TestParseEXIF(t *testing.T) {
	var results []exifResult
	for _, tc := range exifCases() {
		t.Run(tc.name, func(t *testing.T) {
			info, flags, err := ParseEXIF(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err != nil {
				t.Fatalf("err = %v; broken EXIF must never be an error", err)
			}
			if !slices.Equal(flags, tc.flags) {
				t.Errorf("flags = %q, want %q", flags, tc.flags)
			}
			tc.check(t, info)
			results = append(results, exifResult{Name: tc.name, Info: exifJSON(info), Flags: flags})
		})
	}
	got, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "exif.json", append(got, '\n'), nil)
}

// exifJSON renders info for the golden file (models carry no JSON tags).
func exifJSON(info *models.EXIFInfo) any {
	if info == nil {
		return nil
	}
	m := map[string]any{"lat": deref(info.Lat), "lon": deref(info.Lon), "alt": deref(info.Altitude),
		"orientation": info.Orientation, "make": info.Make, "model": info.Model, "offset": info.OffsetTime}
	if info.TakenAt != nil {
		m["taken_at"] = info.TakenAt.Format(time.RFC3339)
	}
	return m
}

// errReaderAt fails every read that is not at the very start of the input.
type errReaderAt struct{ b []byte }

func (r errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off > 0 {
		return 0, errDisk
	}
	return copy(p, r.b), nil
}

var errDisk = &models.Error{Code: models.CodeUnavailable, Message: "disk on fire"}

func TestParseEXIFReadError(t *testing.T) {
	file := jpegWith(tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, 6)}})
	_, _, err := ParseEXIF(errReaderAt{file[:8]}, int64(len(file)))
	if err == nil {
		t.Fatal("a failing reader must surface as an error")
	}
}

func TestParseEXIFOffset(t *testing.T) {
	for _, tc := range []struct {
		in   string
		secs int
		ok   bool
	}{
		{"+08:00", 8 * 3600, true}, {"-03:30", -(3*3600 + 30*60), true}, {"+14:00", 14 * 3600, true},
		{"+00:00", 0, true}, {"+14:30", 0, false}, {"+15:00", 0, false}, {"08:00", 0, false},
		{"+8:00", 0, false}, {"+08:60", 0, false}, {"+0a:00", 0, false}, {"", 0, false}, {"Z", 0, false},
	} {
		secs, ok := parseEXIFOffset(tc.in)
		if secs != tc.secs || ok != tc.ok {
			t.Errorf("parseEXIFOffset(%q) = %d, %v; want %d, %v", tc.in, secs, ok, tc.secs, tc.ok)
		}
	}
}
