package uploads

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
)

// The EXIF flags ParseEXIF (and so InspectImage) may report. They are stable:
// clients and the console match on them, so never rename one.
const (
	// flagEXIFUnparseable: an EXIF segment is present but its structure is
	// broken (bad TIFF header, an IFD or value outside the segment, an IFD
	// loop). Whatever could be read before the break is still returned.
	flagEXIFUnparseable = "exif_unparseable"
	// flagEXIFGPSInvalid: the EXIF claims a position (latitude or longitude
	// tags present) but it was dropped: a missing or unknown N/S/E/W
	// reference, a zero denominator, minutes or seconds over 60, latitude
	// outside [-90, 90], longitude outside [-180, 180], or exactly 0,0.
	flagEXIFGPSInvalid = "exif_gps_invalid"
	// flagEXIFAltitudeInvalid: the GPS altitude was dropped: a zero
	// denominator, an unknown reference, or outside [-500, 9000] m.
	flagEXIFAltitudeInvalid = "exif_altitude_invalid"
	// flagEXIFTimeInvalid: DateTimeOriginal was dropped (a zero or blank date,
	// unparseable, or a year outside [1990, 2100]) or its offset
	// (OffsetTimeOriginal) was dropped because it is not ±HH:MM within ±14 h.
	flagEXIFTimeInvalid = "exif_time_invalid"
	// flagEXIFOrientationInvalid: the Orientation tag is outside 1–8 and
	// was ignored.
	flagEXIFOrientationInvalid = "exif_orientation_invalid"
)

// Bounds of the EXIF reader. A JPEG APP1 segment cannot exceed 64 KiB (its
// length field is 16 bits), so neither can anything ParseEXIF allocates for it.
const (
	exifMaxSegment   = 64 << 10 // bytes of TIFF data read at most
	exifMaxJPEGScan  = 1 << 20  // bytes of a JPEG header walked looking for APP1
	exifMaxSegments  = 128      // JPEG marker segments walked looking for APP1
	exifMaxPNGChunks = 256      // PNG chunks walked looking for eXIf
	exifMaxEntries   = 512      // entries read from one IFD
	exifMaxIFDs      = 4        // IFDs visited: IFD0, Exif, GPS and one spare
	exifMaxASCII     = 128      // bytes kept of Make and Model
)

// The plausible range of a photo's GPS altitude in metres: the Dead Sea shore
// is at -430 m; nobody in city management works above 9000 m.
const (
	minAltitude = -500
	maxAltitude = 9000
)

// ParseEXIF reads the EXIF metadata of a JPEG (APP1 "Exif\0\0" segment) or a
// PNG (eXIf chunk) and returns its validated values and flags.
//
// The reader is bounded: it walks at most the first MiB of markers, reads
// one EXIF segment of at most 64 KiB and never allocates or reads beyond it,
// caps IFD entry counts and the IFDs it visits (so a loop ends), and checks
// every count and offset against the segment without overflow. It reads
// Orientation, Make, Model, DateTimeOriginal with OffsetTimeOriginal (or
// OffsetTime), and GPS latitude, longitude and altitude.
//
// Invalid values are dropped and reported as flags, each at most once, in the
// order: exif_unparseable, exif_orientation_invalid, exif_time_invalid,
// exif_gps_invalid, exif_altitude_invalid (see the flag constants for what
// each means). Broken EXIF never refuses a photo: ParseEXIF returns an error
// only when r itself fails with something other than reaching its end. The
// info is nil when there is no EXIF or its TIFF header is unreadable.
//
// TakenAt carries OffsetTime's zone when it is known; when OffsetTime is
// empty the camera's zone is unknown and TakenAt holds its wall clock in UTC.
// Orientation is 0 when absent.
func ParseEXIF(jpeg io.ReaderAt, size int64) (*models.EXIFInfo, []string, error) {
	var head [8]byte
	n, err := readAtFull(jpeg, head[:], 0, size)
	if err != nil {
		return nil, nil, err
	}
	var seg []byte
	var found bool
	switch {
	case n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		seg, found, err = findJPEGExif(jpeg, size)
	case n == 8 && bytes.Equal(head[:], pngMagic):
		seg, found, err = findPNGExif(jpeg, size)
	default:
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, nil
	}
	if seg == nil {
		return nil, []string{flagEXIFUnparseable}, nil
	}
	info, flags := parseTIFF(seg)
	return info, flags, nil
}

// readAtFull reads len(p) bytes at off, or fewer if the input ends first. It
// returns the count read and an error only for failures other than the end.
func readAtFull(r io.ReaderAt, p []byte, off, size int64) (int, error) {
	if off >= size {
		return 0, nil
	}
	if rest := size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return n, nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return n, err
}

// findJPEGExif walks the JPEG marker segments before the first scan and
// returns the TIFF data of the first APP1 "Exif\0\0" segment. found reports
// whether such a segment was seen; seg is nil if it was cut short.
func findJPEGExif(r io.ReaderAt, size int64) (seg []byte, found bool, err error) {
	pos := int64(2)
	var hdr [10]byte
	for i := 0; i < exifMaxSegments && pos < exifMaxJPEGScan; i++ {
		n, err := readAtFull(r, hdr[:4], pos, size)
		if err != nil || n < 2 {
			return nil, false, err
		}
		if hdr[0] != 0xFF {
			return nil, false, nil // not at a marker: the stream is broken
		}
		marker := hdr[1]
		switch {
		case marker == 0xFF: // fill byte before a marker
			pos++
			continue
		case marker == 0xD9 || marker == 0xDA: // end of image, start of scan
			return nil, false, nil
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7): // no length
			pos += 2
			continue
		}
		if n < 4 {
			return nil, false, nil
		}
		length := int64(binary.BigEndian.Uint16(hdr[2:4]))
		if length < 2 {
			return nil, false, nil
		}
		if marker == 0xE1 && length >= 2+6 {
			m, err := readAtFull(r, hdr[4:10], pos+4, size)
			if err != nil {
				return nil, false, err
			}
			if m == 6 && string(hdr[4:10]) == "Exif\x00\x00" {
				body := length - 2 - 6 // ≤ 65527: the length field is 16 bits
				buf := make([]byte, body)
				got, err := readAtFull(r, buf, pos+4+6, size)
				if err != nil {
					return nil, true, err
				}
				if int64(got) < body {
					return nil, true, nil
				}
				return buf, true, nil
			}
		}
		pos += 2 + length
	}
	return nil, false, nil
}

// pngMagic is the PNG signature.
var pngMagic = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}

// findPNGExif walks the PNG chunks before the image data and returns the
// content of an eXIf chunk (a bare TIFF structure).
func findPNGExif(r io.ReaderAt, size int64) (seg []byte, found bool, err error) {
	pos := int64(8)
	var hdr [8]byte
	for i := 0; i < exifMaxPNGChunks; i++ {
		n, err := readAtFull(r, hdr[:], pos, size)
		if err != nil || n < 8 {
			return nil, false, err
		}
		length := int64(binary.BigEndian.Uint32(hdr[:4]))
		switch string(hdr[4:8]) {
		case "IDAT", "IEND":
			return nil, false, nil
		case "eXIf":
			if length > exifMaxSegment {
				return nil, true, nil
			}
			buf := make([]byte, length)
			got, err := readAtFull(r, buf, pos+8, size)
			if err != nil {
				return nil, true, err
			}
			if int64(got) < length {
				return nil, true, nil
			}
			return buf, true, nil
		}
		pos += 8 + length + 4 // length, type, data, CRC
	}
	return nil, false, nil
}

// TIFF tags read.
const (
	tagMake               = 0x010F
	tagModel              = 0x0110
	tagOrientation        = 0x0112
	tagExifIFD            = 0x8769
	tagGPSIFD             = 0x8825
	tagDateTimeOriginal   = 0x9003
	tagOffsetTime         = 0x9010
	tagOffsetTimeOriginal = 0x9011
	tagGPSLatitudeRef     = 0x0001
	tagGPSLatitude        = 0x0002
	tagGPSLongitudeRef    = 0x0003
	tagGPSLongitude       = 0x0004
	tagGPSAltitudeRef     = 0x0005
	tagGPSAltitude        = 0x0006
)

// TIFF field types used, and the byte size of each type.
const (
	tiffByte      = 1
	tiffASCII     = 2
	tiffShort     = 3
	tiffLong      = 4
	tiffRational  = 5
	tiffUndefined = 7
	tiffSLong     = 9
	tiffSRational = 10
)

var tiffTypeSize = [...]uint64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}

// tiffEntry is one IFD entry; data is a subslice of the segment, never a copy.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte
}

// tiffWalker reads IFDs out of one EXIF segment.
type tiffWalker struct {
	b       []byte
	bo      binary.ByteOrder
	visited []uint32
	broken  bool
}

// ifd returns the entries of the IFD at off. Anything out of bounds marks the
// walk broken and is skipped; a revisited offset (a loop) returns nothing.
func (w *tiffWalker) ifd(off uint32) []tiffEntry {
	for _, v := range w.visited {
		if v == off {
			w.broken = true
			return nil
		}
	}
	if len(w.visited) >= exifMaxIFDs {
		w.broken = true
		return nil
	}
	w.visited = append(w.visited, off)
	if uint64(off)+2 > uint64(len(w.b)) {
		w.broken = true
		return nil
	}
	count := int(w.bo.Uint16(w.b[off:]))
	avail := (len(w.b) - int(off) - 2) / 12
	if count > avail {
		w.broken = true
		count = avail
	}
	if count > exifMaxEntries {
		w.broken = true
		count = exifMaxEntries
	}
	entries := make([]tiffEntry, 0, count)
	for i := 0; i < count; i++ {
		e := w.b[int(off)+2+12*i:][:12]
		ent := tiffEntry{tag: w.bo.Uint16(e[0:]), typ: w.bo.Uint16(e[2:]), count: w.bo.Uint32(e[4:])}
		if int(ent.typ) >= len(tiffTypeSize) || tiffTypeSize[ent.typ] == 0 {
			continue // unknown type: its size is unknown, skip it
		}
		n := tiffTypeSize[ent.typ] * uint64(ent.count) // ≤ 8·(2³²−1): no overflow
		if n <= 4 {
			ent.data = e[8 : 8+n]
		} else {
			vo := uint64(w.bo.Uint32(e[8:]))
			if vo+n > uint64(len(w.b)) {
				w.broken = true
				continue
			}
			ent.data = w.b[vo : vo+n]
		}
		entries = append(entries, ent)
	}
	return entries
}

// uint returns the i-th value of a BYTE, SHORT or LONG entry.
func (w *tiffWalker) uint(e tiffEntry, i int) (uint32, bool) {
	if uint64(i) >= uint64(e.count) {
		return 0, false
	}
	switch e.typ {
	case tiffByte, tiffUndefined:
		return uint32(e.data[i]), true
	case tiffShort:
		return uint32(w.bo.Uint16(e.data[2*i:])), true
	case tiffLong:
		return w.bo.Uint32(e.data[4*i:]), true
	case tiffSLong:
		v := int32(w.bo.Uint32(e.data[4*i:]))
		if v < 0 {
			return 0, false
		}
		return uint32(v), true
	}
	return 0, false
}

// rational returns the i-th value of a RATIONAL or SRATIONAL entry; a zero
// denominator is not a value.
func (w *tiffWalker) rational(e tiffEntry, i int) (float64, bool) {
	if uint64(i) >= uint64(e.count) {
		return 0, false
	}
	switch e.typ {
	case tiffRational:
		num, den := w.bo.Uint32(e.data[8*i:]), w.bo.Uint32(e.data[8*i+4:])
		if den == 0 {
			return 0, false
		}
		return float64(num) / float64(den), true
	case tiffSRational:
		num, den := int32(w.bo.Uint32(e.data[8*i:])), int32(w.bo.Uint32(e.data[8*i+4:]))
		if den == 0 {
			return 0, false
		}
		return float64(num) / float64(den), true
	}
	return 0, false
}

// ascii returns an ASCII (or UNDEFINED) entry as a clean string: cut at the
// first NUL, control characters removed, valid UTF-8, at most max bytes.
func ascii(e tiffEntry, max int) string {
	if e.typ != tiffASCII && e.typ != tiffUndefined && e.typ != tiffByte {
		return ""
	}
	b := e.data
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > max {
		b = b[:max]
	}
	s := strings.ToValidUTF8(string(b), "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// parseTIFF reads the values ParseEXIF returns out of one TIFF structure.
func parseTIFF(b []byte) (*models.EXIFInfo, []string) {
	if len(b) < 8 {
		return nil, []string{flagEXIFUnparseable}
	}
	w := &tiffWalker{b: b}
	switch string(b[:2]) {
	case "II":
		w.bo = binary.LittleEndian
	case "MM":
		w.bo = binary.BigEndian
	default:
		return nil, []string{flagEXIFUnparseable}
	}
	if w.bo.Uint16(b[2:]) != 42 {
		return nil, []string{flagEXIFUnparseable}
	}
	info := &models.EXIFInfo{}
	var badOrientation, badTime, badGPS, badAlt bool

	var exifOff, gpsOff uint32
	var hasExif, hasGPS bool
	for _, e := range w.ifd(w.bo.Uint32(b[4:])) {
		switch e.tag {
		case tagMake:
			info.Make = ascii(e, exifMaxASCII)
		case tagModel:
			info.Model = ascii(e, exifMaxASCII)
		case tagOrientation:
			if v, ok := w.uint(e, 0); ok && v >= 1 && v <= 8 {
				info.Orientation = int(v)
			} else {
				badOrientation = true
			}
		case tagExifIFD:
			exifOff, hasExif = w.uint(e, 0)
		case tagGPSIFD:
			gpsOff, hasGPS = w.uint(e, 0)
		}
	}

	if hasExif {
		var dto, offOrig, off string
		var hasDTO, hasOffOrig, hasOff bool
		for _, e := range w.ifd(exifOff) {
			switch e.tag {
			case tagDateTimeOriginal:
				dto, hasDTO = ascii(e, 64), true
			case tagOffsetTimeOriginal:
				offOrig, hasOffOrig = ascii(e, 16), true
			case tagOffsetTime:
				off, hasOff = ascii(e, 16), true
			}
		}
		if hasDTO {
			zoneStr, hasZone := offOrig, hasOffOrig
			if !hasZone {
				zoneStr, hasZone = off, hasOff
			}
			t, ok := parseEXIFTime(dto)
			if !ok {
				badTime = true
			} else {
				if hasZone {
					if secs, ok := parseEXIFOffset(zoneStr); ok {
						t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0,
							time.FixedZone(zoneStr, secs))
						info.OffsetTime = zoneStr
					} else {
						badTime = true
					}
				}
				info.TakenAt = &t
			}
		}
	}

	if hasGPS {
		var latRef, lonRef string
		var lat, lon, alt tiffEntry
		var hasLat, hasLon, hasAlt, hasLatRef, hasLonRef bool
		altRef := uint32(0)
		badAltRef := false
		for _, e := range w.ifd(gpsOff) {
			switch e.tag {
			case tagGPSLatitudeRef:
				latRef, hasLatRef = ascii(e, 4), true
			case tagGPSLongitudeRef:
				lonRef, hasLonRef = ascii(e, 4), true
			case tagGPSLatitude:
				lat, hasLat = e, true
			case tagGPSLongitude:
				lon, hasLon = e, true
			case tagGPSAltitudeRef:
				v, ok := w.uint(e, 0)
				altRef, badAltRef = v, !ok || v > 1
			case tagGPSAltitude:
				alt, hasAlt = e, true
			}
		}
		if hasLat || hasLon || hasLatRef || hasLonRef {
			la, okLa := w.degrees(lat, hasLat, latRef, hasLatRef, "N", "S", 90)
			lo, okLo := w.degrees(lon, hasLon, lonRef, hasLonRef, "E", "W", 180)
			if okLa && okLo && !(la == 0 && lo == 0) {
				info.Lat, info.Lon = &la, &lo
			} else {
				badGPS = true
			}
		}
		if hasAlt {
			a, ok := w.rational(alt, 0)
			if altRef == 1 {
				a = -a
			}
			if ok && !badAltRef && !math.IsNaN(a) && a >= minAltitude && a <= maxAltitude {
				info.Altitude = &a
			} else {
				badAlt = true
			}
		}
	}

	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{w.broken, flagEXIFUnparseable},
		{badOrientation, flagEXIFOrientationInvalid},
		{badTime, flagEXIFTimeInvalid},
		{badGPS, flagEXIFGPSInvalid},
		{badAlt, flagEXIFAltitudeInvalid},
	} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	return info, flags
}

// degrees turns a GPS degrees/minutes/seconds entry and its reference into
// signed decimal degrees within ±limit.
func (w *tiffWalker) degrees(e tiffEntry, has bool, ref string, hasRef bool, pos, neg string, limit float64) (float64, bool) {
	if !has || !hasRef || e.count < 1 {
		return 0, false
	}
	d, ok := w.rational(e, 0)
	if !ok || d < 0 {
		return 0, false
	}
	var m, s float64
	if e.count >= 2 {
		if m, ok = w.rational(e, 1); !ok || m < 0 || m > 60 {
			return 0, false
		}
	}
	if e.count >= 3 {
		if s, ok = w.rational(e, 2); !ok || s < 0 || s > 60 {
			return 0, false
		}
	}
	v := d + m/60 + s/3600
	switch strings.ToUpper(ref) {
	case pos:
	case neg:
		v = -v
	default:
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < -limit || v > limit {
		return 0, false
	}
	return v, true
}

// parseEXIFTime parses an EXIF date ("2006:01:02 15:04:05", also with dashes
// in the date) as a wall clock in UTC. Zero, blank and implausible dates
// (before 1990, after 2100) are not times.
func parseEXIFTime(s string) (time.Time, bool) {
	if len(s) < 19 {
		return time.Time{}, false
	}
	b := []byte(s[:19])
	if b[4] == '-' && b[7] == '-' {
		b[4], b[7] = ':', ':'
	}
	t, err := time.Parse("2006:01:02 15:04:05", string(b))
	if err != nil || t.Year() < 1990 || t.Year() > 2100 {
		return time.Time{}, false
	}
	return t, true
}

// parseEXIFOffset parses an EXIF offset "+08:00" into seconds east of UTC.
func parseEXIFOffset(s string) (int, bool) {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	digit := func(c byte) (int, bool) { return int(c - '0'), c >= '0' && c <= '9' }
	h1, ok1 := digit(s[1])
	h2, ok2 := digit(s[2])
	m1, ok3 := digit(s[4])
	m2, ok4 := digit(s[5])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	h, m := h1*10+h2, m1*10+m2
	if h > 14 || m > 59 || (h == 14 && m > 0) {
		return 0, false
	}
	secs := h*3600 + m*60
	if s[0] == '-' {
		secs = -secs
	}
	return secs, true
}
