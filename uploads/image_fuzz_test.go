package uploads

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"slices"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

// fuzzLimits keep full decodes small so the allocation bound below is
// meaningful: it proves memory follows the limit, not what the file claims.
var fuzzLimits = ImageLimits{MaxPixels: 1_000_000, MaxBytes: 64 << 10}

// FuzzInspectImage feeds arbitrary files of up to 64 KiB (seeded with
// generated JPEGs and PNGs, with and without EXIF, truncated, bombs and other
// formats) to InspectImage: it must not panic, must answer with a stable
// client code (never internal: the reader cannot fail), must allocate less
// than 32 MiB, and what it accepts must be within the limits.
func FuzzInspectImage(f *testing.F) {
	photo := encodeJPEGForTest(syntheticPhoto(40, 30, 1), 90)
	gray := image.NewGray(image.Rect(0, 0, 16, 9))
	pal := image.NewPaletted(image.Rect(0, 0, 9, 7), color.Palette{red, blue})
	for _, seed := range [][]byte{
		photo,
		photo[:len(photo)/2],
		withEXIF(photo, tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, 6)}, gps: gpsFields(le, "N", 36, 39, 0, "E", 117, 0, 0)}.build()),
		encodePNGForTest(syntheticPhoto(20, 10, 2)),
		encodePNGForTest(gray),
		encodePNGForTest(pal),
		withPNGExif(encodePNGForTest(gray), tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, 3)}}.build()),
		jpegDeclaring(20000, 20000),
		jpegDeclaring(1000, 1000),
		pngDeclaring(20000, 20000),
		pngDeclaring(1000, 1000),
		progressiveJPEG(3),
		progressiveJPEG(40),
		heifHeader("heic", "mif1"),
		[]byte("GIF89a"),
		[]byte("not an image"),
	} {
		f.Add(seed)
	}
	codes := []models.Code{models.CodeImageInvalid, models.CodeImageTooLarge, models.CodeUnsupportedImage}
	f.Fuzz(func(t *testing.T, file []byte) {
		if len(file) > 64<<10 {
			file = file[:64<<10]
		}
		var info ImageInfo
		var err error
		n := allocBytes(func() { info, err = InspectImage(bytes.NewReader(file), int64(len(file)), fuzzLimits) })
		if n > 32<<20 {
			t.Fatalf("InspectImage allocated %d MiB on %d bytes", n>>20, len(file))
		}
		if err != nil {
			var me *models.Error
			if !errors.As(err, &me) || !slices.Contains(codes, me.Code) || me.Message == "" {
				t.Fatalf("err = %#v", err)
			}
			return
		}
		if info.ContentType != contentTypeJPEG && info.ContentType != contentTypePNG {
			t.Fatalf("content type %q", info.ContentType)
		}
		if info.Width <= 0 || info.Height <= 0 || int64(info.Width)*int64(info.Height) > fuzzLimits.MaxPixels {
			t.Fatalf("accepted %d×%d", info.Width, info.Height)
		}
	})
}
