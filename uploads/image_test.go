package uploads

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/fieldsync/fieldsync/models"
)

func TestInspectImage(t *testing.T) {
	photo := encodeJPEGForTest(syntheticPhoto(64, 48, 7), 90)
	pngPhoto := encodePNGForTest(syntheticPhoto(40, 30, 8))
	withGarbageGPS := withEXIF(photo, tiffBuilder{
		ifd0: []tiffField{fShort(le, tagOrientation, 6)},
		gps:  gpsFields(le, "N", 95, 0, 0, "E", 117, 0, 0),
	}.build())
	gray := func() []byte {
		var buf bytes.Buffer
		g := image.NewGray(image.Rect(0, 0, 20, 10))
		if err := jpeg.Encode(&buf, g, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	corruptSOF := func() []byte {
		b := slices.Clone(photo)
		i := bytes.Index(b, []byte{0xFF, 0xC0})
		b[i+9] = 7 // seven components
		return b
	}()

	for _, tc := range []struct {
		name        string
		file        []byte
		lim         ImageLimits
		code        models.Code
		msg         string // a substring of the message
		hint        string // a substring of the hint
		contentType string
		w, h        int
		flags       []string
		orientation int
	}{
		{name: "jpeg", file: photo, contentType: "image/jpeg", w: 64, h: 48},
		{name: "png", file: pngPhoto, contentType: "image/png", w: 40, h: 30},
		{name: "grayscale jpeg", file: gray, contentType: "image/jpeg", w: 20, h: 10},
		{name: "jpeg with trailing bytes", file: append(slices.Clone(photo), "trailer"...), contentType: "image/jpeg", w: 64, h: 48},
		{name: "exif with garbage gps is flagged, not refused", file: withGarbageGPS, contentType: "image/jpeg", w: 64, h: 48,
			flags: []string{flagEXIFGPSInvalid}, orientation: 6},
		{name: "truncated jpeg", file: photo[:len(photo)*2/3], code: models.CodeImageInvalid, msg: "truncated"},
		{name: "jpeg cut before its end marker", file: photo[:len(photo)-2], code: models.CodeImageInvalid, msg: "truncated"},
		{name: "jpeg cut in its header", file: photo[:100], code: models.CodeImageInvalid, msg: "truncated"},
		{name: "truncated png", file: pngPhoto[:len(pngPhoto)/2], code: models.CodeImageInvalid, msg: "truncated"},
		{name: "malformed jpeg", file: corruptSOF, code: models.CodeImageInvalid, msg: "malformed"},
		{name: "png with a bad crc", file: func() []byte {
			b := slices.Clone(pngPhoto)
			b[len(b)-20] ^= 0xFF
			return b
		}(), code: models.CodeImageInvalid, msg: "malformed"},
		{name: "text named .jpg", file: []byte("<html><body>404 not found</body></html>"), code: models.CodeImageInvalid, msg: "not an image"},
		{name: "zip named .jpg", file: []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), code: models.CodeImageInvalid, msg: "not an image"},
		{name: "empty", file: nil, code: models.CodeImageInvalid, msg: "empty"},
		{name: "heic", file: heifHeader("heic", "mif1", "heic"), code: models.CodeUnsupportedImage, msg: "HEIC", hint: "JPEG"},
		{name: "heif with mif1 compatible brand", file: heifHeader("msf1", "mif1"), code: models.CodeUnsupportedImage, msg: "HEIF", hint: "JPEG"},
		{name: "avif", file: heifHeader("avif", "mif1", "miaf"), code: models.CodeUnsupportedImage, msg: "AVIF", hint: "JPEG"},
		{name: "mp4 video is not an image", file: heifHeader("isom", "iso2", "mp41"), code: models.CodeImageInvalid, msg: "not an image"},
		{name: "gif", file: []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"), code: models.CodeUnsupportedImage, msg: "GIF", hint: "JPEG"},
		{name: "webp", file: []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), code: models.CodeUnsupportedImage, msg: "WebP"},
		{name: "jpeg declaring 20000x20000", file: jpegDeclaring(20000, 20000), code: models.CodeImageTooLarge, msg: "20000×20000"},
		{name: "png declaring 20000x20000", file: pngDeclaring(20000, 20000), code: models.CodeImageTooLarge, msg: "20000×20000"},
		{name: "png declaring 2^31-1 x 2^31-1", file: pngDeclaring(1<<31-1, 1<<31-1), code: models.CodeImageTooLarge},
		{name: "png declaring 0 width", file: pngDeclaring(0, 10), code: models.CodeImageInvalid},
		{name: "over a custom pixel limit", file: photo, lim: ImageLimits{MaxPixels: 64*48 - 1}, code: models.CodeImageTooLarge},
		{name: "at a custom pixel limit", file: photo, lim: ImageLimits{MaxPixels: 64 * 48}, contentType: "image/jpeg", w: 64, h: 48},
		{name: "over the byte limit", file: photo, lim: ImageLimits{MaxBytes: int64(len(photo)) - 1}, code: models.CodeImageTooLarge, msg: "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := InspectImage(bytes.NewReader(tc.file), int64(len(tc.file)), tc.lim)
			if codeOf(err) != tc.code {
				t.Fatalf("code = %q (%v), want %q", codeOf(err), err, tc.code)
			}
			if err != nil {
				var me *models.Error
				if !errors.As(err, &me) {
					t.Fatalf("err %T is not a *models.Error", err)
				}
				if !strings.Contains(me.Message, tc.msg) || !strings.Contains(me.Hint, tc.hint) {
					t.Errorf("message %q hint %q; want them to contain %q and %q", me.Message, me.Hint, tc.msg, tc.hint)
				}
				if strings.Contains(me.Message, "jpeg:") || strings.Contains(me.Message, "png:") {
					t.Errorf("message %q leaks the decoder's error", me.Message)
				}
				return
			}
			if info.ContentType != tc.contentType || info.Width != tc.w || info.Height != tc.h {
				t.Errorf("info = %s %d×%d, want %s %d×%d", info.ContentType, info.Width, info.Height, tc.contentType, tc.w, tc.h)
			}
			if !slices.Equal(info.Flags, tc.flags) {
				t.Errorf("flags = %q, want %q", info.Flags, tc.flags)
			}
			if tc.orientation != 0 && (info.EXIF == nil || info.EXIF.Orientation != tc.orientation) {
				t.Errorf("exif = %+v, want orientation %d", info.EXIF, tc.orientation)
			}
		})
	}
}

// TestInspectImageBombNotDecoded proves the pixel limit is applied from the
// header: a file declaring 20000×20000 is refused without a full decode,
// while an ordinary file is decoded exactly once.
func TestInspectImageBombNotDecoded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    []byte
		decodes int64
		code    models.Code
	}{
		{"ordinary jpeg", encodeJPEGForTest(solid(32, 32, color.RGBA{1, 2, 3, 255}), 80), 1, ""},
		{"jpeg bomb", jpegDeclaring(20000, 20000), 0, models.CodeImageTooLarge},
		{"png bomb", pngDeclaring(20000, 20000), 0, models.CodeImageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := decodeCalls.Load()
			_, err := InspectImage(bytes.NewReader(tc.file), int64(len(tc.file)), DefaultImageLimits())
			if codeOf(err) != tc.code {
				t.Fatalf("code = %q (%v), want %q", codeOf(err), err, tc.code)
			}
			if got := decodeCalls.Load() - before; got != tc.decodes {
				t.Errorf("full decodes = %d, want %d", got, tc.decodes)
			}
			if len(tc.file) > 1024 && tc.decodes == 0 {
				t.Errorf("the bomb is %d bytes; it should be tiny", len(tc.file))
			}
		})
	}
}

// panicReader panics on read, standing in for a decoder bug on some input.
type panicReader struct{ after int }

func (r *panicReader) Read(p []byte) (int, error) {
	if r.after <= 0 {
		panic("decoder bug")
	}
	n := min(len(p), r.after)
	r.after -= n
	return n, nil
}

func TestImageDecodeFullRecoversPanic(t *testing.T) {
	img, err := decodeFull(kindJPEG, &panicReader{after: 0})
	if img != nil || codeOf(err) != models.CodeImageInvalid {
		t.Fatalf("decodeFull = %v, %v; want CodeImageInvalid", img, err)
	}
	var me *models.Error
	if !errors.As(err, &me) || !strings.Contains(me.Message, "malformed") || me.Cause == nil {
		t.Errorf("err = %#v; want a malformed message with the panic as its cause", err)
	}
}

// failingReaderAt fails with an error that is not the end of the data.
type failingReaderAt struct{ b []byte }

func (r failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= 2000 {
		return 0, io.ErrClosedPipe
	}
	n := copy(p, r.b[off:min(int64(len(r.b)), 2000)])
	if n < len(p) {
		return n, io.ErrClosedPipe
	}
	return n, nil
}

func TestInspectImageReadFailureIsInternal(t *testing.T) {
	photo := encodeJPEGForTest(syntheticPhoto(200, 200, 3), 95)
	_, err := InspectImage(failingReaderAt{photo}, int64(len(photo)), ImageLimits{})
	if codeOf(err) != models.CodeInternal || !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("err = %v; a storage failure is ours (internal), not a bad image", err)
	}
}

func TestImageSniff(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		kind imageKind
	}{
		{[]byte{0xFF, 0xD8, 0xFF, 0xE0}, kindJPEG},
		{[]byte{0xFF, 0xD8}, kindUnknown},
		{pngMagic, kindPNG},
		{pngMagic[:7], kindUnknown},
		{heifHeader("heic"), kindHEIF},
		{heifHeader("mif1", "heic"), kindHEIF},
		{heifHeader("qt  "), kindUnknown},
		{[]byte("II*\x00"), kindOther},
		{[]byte("BM"), kindOther},
		{nil, kindUnknown},
	} {
		if got, _ := sniff(tc.in); got != tc.kind {
			t.Errorf("sniff(%q) = %v, want %v", tc.in, got, tc.kind)
		}
	}
}

// progressiveJPEG returns a valid 8×8 grey progressive JPEG with one DC scan
// and acScans AC scans, each a few bytes.
func progressiveJPEG(acScans int) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00}
	b = append(b, bytes.Repeat([]byte{1}, 64)...)
	b = append(b, 0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00)
	for _, class := range []byte{0x00, 0x10} { // DC then AC table 0: one 1-bit code for symbol 0
		b = append(b, 0xFF, 0xC4, 0x00, 0x14, class, 0x01)
		b = append(b, make([]byte, 15)...)
		b = append(b, 0x00)
	}
	b = append(b, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x7F)
	for i := 0; i < acScans; i++ {
		b = append(b, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3F, 0x00, 0x7F)
	}
	return append(b, 0xFF, 0xD9)
}

// TestInspectImageScanLimit refuses the progressive-JPEG CPU bomb: many tiny
// scans that each make the decoder walk every block of the image.
func TestInspectImageScanLimit(t *testing.T) {
	for _, tc := range []struct {
		acScans int
		code    models.Code
	}{{0, ""}, {maxJPEGScans - 1, ""}, {maxJPEGScans, models.CodeImageInvalid}, {5000, models.CodeImageInvalid}} {
		file := progressiveJPEG(tc.acScans)
		_, err := InspectImage(bytes.NewReader(file), int64(len(file)), ImageLimits{})
		if codeOf(err) != tc.code {
			t.Errorf("%d AC scans: err = %v, want code %q", tc.acScans, err, tc.code)
		}
		if tc.code != "" && !strings.Contains(err.Error(), "scans") {
			t.Errorf("%d AC scans: err = %v, want it to name the scans", tc.acScans, err)
		}
		_, err = MakeThumbnails(bytes.NewReader(file), 1)
		if codeOf(err) != tc.code {
			t.Errorf("%d AC scans: MakeThumbnails err = %v, want code %q", tc.acScans, err, tc.code)
		}
	}
}

func TestImageScanLimiterAcrossReads(t *testing.T) {
	in := bytes.Repeat([]byte{0x12, 0xFF, 0x00, 0xFF, 0xFF, 0xDA, 0xFF}, 10)
	s := &scanLimiter{r: iotest.OneByteReader(bytes.NewReader(in))}
	if _, err := io.Copy(io.Discard, s); err != nil {
		t.Fatal(err)
	}
	if s.scans != 10 {
		t.Errorf("scans = %d, want 10", s.scans)
	}
}
