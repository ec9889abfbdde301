package uploads

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

// The -update flag rewrites golden files. Another file of this package may
// register it too; whoever comes second reuses the first registration.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/golden")
	}
}

// updateGolden reports whether -update was given.
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/golden/name, or rewrites the file when
// -update is given.
func golden(t *testing.T, name string, got []byte, equal func(want, got []byte) error) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run with -update): %v", err)
	}
	if equal == nil {
		equal = func(want, got []byte) error {
			if !bytes.Equal(want, got) {
				return errors.New("differs")
			}
			return nil
		}
	}
	if err := equal(want, got); err != nil {
		t.Errorf("%s: %v (run with -update if the change is intended)\nwant:\n%s\ngot:\n%s", path, err, clip(want), clip(got))
	}
}

// clip shortens golden output in failure messages.
func clip(b []byte) []byte {
	if len(b) > 4000 {
		return append(b[:4000:4000], "…"...)
	}
	return b
}

// codeOf returns the models code of err ("" for nil).
func codeOf(err error) models.Code { return models.ErrorCode(err) }

// tiffField is one IFD entry of a hand-built TIFF structure. data holds the
// value bytes in the structure's byte order; raw, when set, is written as the
// entry's value/offset word verbatim with no data (to craft broken entries).
type tiffField struct {
	tag, typ uint16
	count    uint32
	data     []byte
	raw      *uint32
}

// tiffBuilder lays out a TIFF structure (the body of an EXIF segment): IFD0,
// then the Exif IFD and GPS IFD if they have fields (their pointers are added
// to IFD0), then the out-of-line values.
type tiffBuilder struct {
	bo         binary.ByteOrder
	ifd0       []tiffField
	exif, gps  []tiffField
	ifd0Offset *uint32 // overrides the header's IFD0 offset
	magic      uint16  // overrides 42
}

func (b tiffBuilder) order() binary.ByteOrder {
	if b.bo == nil {
		return binary.LittleEndian
	}
	return b.bo
}

func (b tiffBuilder) build() []byte {
	bo := b.order()
	ifd0 := append([]tiffField(nil), b.ifd0...)
	// Pointer placeholders; their values are patched once offsets are known.
	exifIdx, gpsIdx := -1, -1
	if len(b.exif) > 0 {
		exifIdx = len(ifd0)
		ifd0 = append(ifd0, tiffField{tag: tagExifIFD, typ: tiffLong, count: 1})
	}
	if len(b.gps) > 0 {
		gpsIdx = len(ifd0)
		ifd0 = append(ifd0, tiffField{tag: tagGPSIFD, typ: tiffLong, count: 1})
	}
	ifds := [][]tiffField{ifd0, b.exif, b.gps}
	offs := make([]uint32, 3)
	pos := uint32(8)
	for i, f := range ifds {
		if len(f) == 0 && i > 0 {
			continue
		}
		offs[i] = pos
		pos += 2 + 12*uint32(len(f)) + 4
	}
	u32 := func(v uint32) []byte { p := make([]byte, 4); bo.PutUint32(p, v); return p }
	if exifIdx >= 0 {
		ifd0[exifIdx].data = u32(offs[1])
	}
	if gpsIdx >= 0 {
		ifd0[gpsIdx].data = u32(offs[2])
	}
	out := make([]byte, 8, 256)
	if bo == binary.LittleEndian {
		copy(out, "II")
	} else {
		copy(out, "MM")
	}
	magic := uint16(42)
	if b.magic != 0 {
		magic = b.magic
	}
	bo.PutUint16(out[2:], magic)
	first := uint32(8)
	if b.ifd0Offset != nil {
		first = *b.ifd0Offset
	}
	bo.PutUint32(out[4:], first)
	var extra []byte
	for i, f := range ifds {
		if len(f) == 0 && i > 0 {
			continue
		}
		ifd := make([]byte, 2+12*len(f)+4)
		bo.PutUint16(ifd, uint16(len(f)))
		for j, e := range f {
			ent := ifd[2+12*j:]
			bo.PutUint16(ent[0:], e.tag)
			bo.PutUint16(ent[2:], e.typ)
			bo.PutUint32(ent[4:], e.count)
			switch {
			case e.raw != nil:
				bo.PutUint32(ent[8:], *e.raw)
			case len(e.data) <= 4:
				copy(ent[8:12], e.data)
			default:
				bo.PutUint32(ent[8:], pos+uint32(len(extra)))
				extra = append(extra, e.data...)
				if len(extra)%2 == 1 {
					extra = append(extra, 0) // values start on word boundaries
				}
			}
		}
		out = append(out, ifd...)
	}
	return append(out, extra...)
}

// Field constructors in the builder's byte order (little-endian unless the
// builder says otherwise: pass bo).
func fASCII(tag uint16, s string) tiffField {
	return tiffField{tag: tag, typ: tiffASCII, count: uint32(len(s) + 1), data: append([]byte(s), 0)}
}

func fShort(bo binary.ByteOrder, tag uint16, v uint16) tiffField {
	p := make([]byte, 2)
	bo.PutUint16(p, v)
	return tiffField{tag: tag, typ: tiffShort, count: 1, data: p}
}

func fByte(tag uint16, v byte) tiffField {
	return tiffField{tag: tag, typ: tiffByte, count: 1, data: []byte{v}}
}

// fRationals builds a RATIONAL field from numerator, denominator pairs.
func fRationals(bo binary.ByteOrder, tag uint16, nd ...uint32) tiffField {
	p := make([]byte, 4*len(nd))
	for i, v := range nd {
		bo.PutUint32(p[4*i:], v)
	}
	return tiffField{tag: tag, typ: tiffRational, count: uint32(len(nd) / 2), data: p}
}

// fRaw builds an entry whose value word is raw and whose count is count: it
// points wherever raw says, with no data behind it.
func fRaw(tag, typ uint16, count, raw uint32) tiffField {
	return tiffField{tag: tag, typ: typ, count: count, raw: &raw}
}

// gpsFields returns GPS fields for lat/lon in degrees, minutes, seconds×100.
func gpsFields(bo binary.ByteOrder, latRef string, latD, latM, latS100 uint32, lonRef string, lonD, lonM, lonS100 uint32) []tiffField {
	return []tiffField{
		fASCII(tagGPSLatitudeRef, latRef),
		fRationals(bo, tagGPSLatitude, latD, 1, latM, 1, latS100, 100),
		fASCII(tagGPSLongitudeRef, lonRef),
		fRationals(bo, tagGPSLongitude, lonD, 1, lonM, 1, lonS100, 100),
	}
}

// withEXIF returns a JPEG with an APP1 "Exif\0\0" segment holding tiff
// inserted right after SOI.
func withEXIF(jpg, tiff []byte) []byte {
	seg := app1(tiff, len(tiff)+2+6)
	out := append([]byte{0xFF, 0xD8}, seg...)
	return append(out, jpg[2:]...)
}

// app1 returns an APP1 Exif segment whose length field says length.
func app1(tiff []byte, length int) []byte {
	seg := []byte{0xFF, 0xE1, byte(length >> 8), byte(length)}
	seg = append(seg, "Exif\x00\x00"...)
	return append(seg, tiff...)
}

// pngChunk returns one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	crc := crc32.ChecksumIEEE(append([]byte(typ), data...))
	return binary.BigEndian.AppendUint32(out, crc)
}

// withPNGExif returns a PNG with an eXIf chunk holding tiff after IHDR.
func withPNGExif(p, tiff []byte) []byte {
	ihdrEnd := 8 + 8 + 13 + 4
	out := append([]byte(nil), p[:ihdrEnd]...)
	out = append(out, pngChunk("eXIf", tiff)...)
	return append(out, p[ihdrEnd:]...)
}

// encodePNGForTest encodes img as PNG.
func encodePNGForTest(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// solid returns a w×h RGBA image of one colour.
func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// jpegDeclaring returns a small valid JPEG whose SOF0 header is patched to
// declare w×h: a decompression bomb in a few hundred bytes.
func jpegDeclaring(w, h int) []byte {
	b := encodeJPEGForTest(solid(16, 16, color.RGBA{200, 10, 10, 255}), 75)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		panic("no SOF0")
	}
	// FFC0, length(2), precision(1), height(2), width(2)
	binary.BigEndian.PutUint16(b[i+5:], uint16(h))
	binary.BigEndian.PutUint16(b[i+7:], uint16(w))
	return b
}

// pngDeclaring returns a PNG whose IHDR (with a valid CRC) declares w×h,
// followed by a tiny IDAT and IEND.
func pngDeclaring(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, no interlace
	out := append([]byte(nil), pngMagic...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// heifHeader returns the start of an ISO-BMFF file with the given brands.
func heifHeader(major string, compatible ...string) []byte {
	body := []byte("ftyp" + major + "\x00\x00\x00\x00")
	for _, c := range compatible {
		body = append(body, c...)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
	out = append(out, body...)
	return append(out, make([]byte, 200)...) // a meta box would follow
}
