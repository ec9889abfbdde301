package uploads

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"sync/atomic"

	"github.com/fieldsync/fieldsync/models"
)

// ImageLimits bounds what InspectImage accepts (MakeThumbnails applies the
// default pixel limit). A zero or negative field takes its default from
// DefaultImageLimits.
type ImageLimits struct {
	// MaxPixels is the most pixels (width × height) an image may declare. It
	// is checked from the header alone, before anything is decoded, so that
	// a small file declaring a huge image (a decompression bomb) never gets
	// the memory it asks for. A decoded 50 MP JPEG takes about 75 MB.
	MaxPixels int64
	// MaxBytes is the largest file accepted.
	MaxBytes int64
}

// DefaultImageLimits returns the limits used when none are given: 50
// megapixels (phones take 12–50 MP; 108 MP modes are refused and should be
// binned on the device) and 40 MiB (the largest JPEG a 50 MP phone writes).
func DefaultImageLimits() ImageLimits {
	return ImageLimits{MaxPixels: 50_000_000, MaxBytes: 40 << 20}
}

// withDefaults fills the zero fields of l from DefaultImageLimits.
func (l ImageLimits) withDefaults() ImageLimits {
	d := DefaultImageLimits()
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	return l
}

// ImageInfo is what InspectImage learned about an image.
type ImageInfo struct {
	ContentType   string // image/jpeg or image/png
	Width, Height int    // as stored, before any EXIF orientation
	EXIF          *models.EXIFInfo
	Flags         []string // EXIF flags; see ParseEXIF
}

// Content types accepted.
const (
	contentTypeJPEG = "image/jpeg"
	contentTypePNG  = "image/png"
)

// decodeCalls counts full decodes started. Tests read it to prove that an
// image refused for its declared size was never decoded.
var decodeCalls atomic.Int64

// imageKind is the format found by sniffing the first bytes.
type imageKind int

const (
	kindUnknown imageKind = iota
	kindJPEG
	kindPNG
	kindHEIF // HEIC, HEIF and AVIF: recognised, refused
	kindOther
)

// sniffLen is how many leading bytes sniff needs.
const sniffLen = 64

// sniff recognises an image format from its magic bytes. Only the content
// counts: the file name and the declared content type are never trusted.
func sniff(b []byte) (imageKind, string) {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return kindJPEG, "JPEG"
	case len(b) >= 8 && bytes.Equal(b[:8], pngMagic):
		return kindPNG, "PNG"
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		// ISO base media file: HEIF family if the major brand or one of the
		// compatible brands is theirs. Video brands (mp42, isom…) are not
		// images.
		end := min(len(b), int(binary.BigEndian.Uint32(b[:4])))
		for i := 8; i+4 <= end; i += 4 {
			if i == 12 {
				continue // minor version, not a brand
			}
			switch string(b[i : i+4]) {
			case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1":
				return kindHEIF, "HEIC/HEIF"
			case "avif", "avis":
				return kindHEIF, "AVIF"
			}
		}
	case len(b) >= 6 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return kindOther, "GIF"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return kindOther, "WebP"
	case len(b) >= 4 && (string(b[:4]) == "II*\x00" || string(b[:4]) == "MM\x00*"):
		return kindOther, "TIFF"
	case len(b) >= 2 && string(b[:2]) == "BM":
		return kindOther, "BMP"
	}
	return kindUnknown, ""
}

// refuseKind returns the error for a sniffed format that is not accepted, or
// nil for JPEG and PNG.
func refuseKind(kind imageKind, name string) error {
	switch kind {
	case kindJPEG, kindPNG:
		return nil
	case kindHEIF:
		return models.Errorf(models.CodeUnsupportedImage, "%s photos are not accepted", name).
			WithHint("Set the camera to save JPEG (\"most compatible\"), or have the app convert the photo to JPEG before upload.")
	case kindOther:
		return models.Errorf(models.CodeUnsupportedImage, "%s images are not accepted", name).
			WithHint("Send the photo as JPEG.")
	}
	return models.Errorf(models.CodeImageInvalid, "not an image: the content is neither JPEG nor PNG").
		WithHint("Send the photo file itself, as JPEG.")
}

// decodeConfig reads only the header of a sniffed image.
func decodeConfig(kind imageKind, r io.Reader) (image.Config, error) {
	var cfg image.Config
	var err error
	src := &sourceReader{r: r}
	switch kind {
	case kindJPEG:
		cfg, err = jpeg.DecodeConfig(src)
	case kindPNG:
		cfg, err = png.DecodeConfig(src)
	default:
		return cfg, models.Errorf(models.CodeImageInvalid, "not an image")
	}
	if err != nil {
		return cfg, decodeError(kind, err, src.err)
	}
	return cfg, nil
}

// sourceReader remembers the first failure of the reader under a decoder, so
// that a failing disk or network is told apart from a bad image: decoders
// pass some errors on as they are and wrap others.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// checkPixels refuses dimensions that are empty or over the pixel limit. It
// runs on the header alone, before any full decode.
func checkPixels(w, h, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return models.Errorf(models.CodeImageInvalid, "image is malformed: it declares %d×%d pixels", w, h)
	}
	if w > maxPixels || h > maxPixels || w*h > maxPixels { // w, h < 2³²: no overflow
		return models.Errorf(models.CodeImageTooLarge, "image is %d×%d pixels (%.1f MP); at most %.1f MP is accepted",
			w, h, float64(w)*float64(h)/1e6, float64(maxPixels)/1e6).
			WithHint("Take the photo at a lower resolution.")
	}
	return nil
}

// checkHeader reads the image header (and nothing more) from r and applies
// the pixel limit. A PNG's declared size is checked from its IHDR before Go's
// decoder sees it, since that decoder calls sizes it cannot address
// "unsupported" rather than too large.
func checkHeader(kind imageKind, head []byte, r io.Reader, maxPixels int64) (image.Config, error) {
	if kind == kindPNG && len(head) >= 24 && string(head[12:16]) == "IHDR" {
		w, h := binary.BigEndian.Uint32(head[16:]), binary.BigEndian.Uint32(head[20:])
		if err := checkPixels(int64(w), int64(h), maxPixels); err != nil {
			return image.Config{}, err
		}
	}
	cfg, err := decodeConfig(kind, r)
	if err != nil {
		return cfg, err
	}
	return cfg, checkPixels(int64(cfg.Width), int64(cfg.Height), maxPixels)
}

// maxJPEGScans is the most start-of-scan markers a JPEG may have. A baseline
// photo has one and a progressive one about ten (libjpeg's script for colour
// has ten). A crafted progressive file can hold thousands of scans of about
// 75 bytes each (end-of-band runs cover 32767 blocks per symbol), and the
// decoder walks every block of the image for each scan: measured here, a
// 111 KB file declaring 7000×7000 with 200 scans took 6.6 s to decode. The
// pixel limit alone does not stop that; with this cap the worst case is
// about as slow as decoding an ordinary photo of the largest size twice.
const maxJPEGScans = 32

// scanLimiter passes a JPEG stream through, counting its 0xFF 0xDA (start of
// scan) markers, and fails once there are more than maxJPEGScans. Entropy
// coded data stuffs every 0xFF with 0x00, so any 0xFF 0xDA is a real marker
// (or one of an embedded EXIF thumbnail, which only overcounts by one).
type scanLimiter struct {
	r      io.Reader
	scans  int
	lastFF bool
}

// errTooManyScans refuses a JPEG with more than maxJPEGScans scans.
var errTooManyScans = models.Errorf(models.CodeImageInvalid, "JPEG is malformed: it has more than %d scans", maxJPEGScans)

func (s *scanLimiter) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	b := p[:n]
	if n > 0 && s.lastFF && b[0] == 0xDA {
		s.scans++
	}
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], 0xFF) // vectorised: entropy data is mostly skipped
		if j < 0 {
			break
		}
		i += j + 1
		if i < len(b) && b[i] == 0xDA {
			s.scans++
		}
	}
	if n > 0 {
		s.lastFF = b[n-1] == 0xFF
	}
	if s.scans > maxJPEGScans {
		return 0, errTooManyScans
	}
	return n, err
}

// decodeFull decodes a whole sniffed image. A decoder panic (a bug on some
// malformed input) becomes CodeImageInvalid instead of a crash.
func decodeFull(kind imageKind, r io.Reader) (img image.Image, err error) {
	decodeCalls.Add(1)
	defer func() {
		if p := recover(); p != nil {
			img = nil
			err = &models.Error{Code: models.CodeImageInvalid, Message: "image is malformed",
				Cause: fmt.Errorf("decoder panic: %v", p)}
		}
	}()
	src := &sourceReader{r: r}
	switch kind {
	case kindJPEG:
		img, err = jpeg.Decode(&scanLimiter{r: src})
	case kindPNG:
		img, err = png.Decode(src)
	default:
		return nil, models.Errorf(models.CodeImageInvalid, "not an image")
	}
	if err != nil {
		return nil, decodeError(kind, err, src.err)
	}
	return img, nil
}

// truncationErrors are the decoders' format errors that mean the data ran
// out before the image did: image/jpeg and image/png turn some unexpected
// ends into these instead of io.ErrUnexpectedEOF.
var truncationErrors = map[string]bool{
	jpeg.FormatError("short Huffman data").Error():        true,
	png.FormatError("not enough pixel data").Error():      true,
	png.FormatError(io.ErrUnexpectedEOF.Error()).Error():  true, // from zlib, inside IDAT
	jpeg.FormatError(io.ErrUnexpectedEOF.Error()).Error(): true,
}

// decodeError maps a decoder error to a client-safe *models.Error. readErr
// is the failure of the reader under the decoder, if any: that one is ours
// (internal), not the client's. Otherwise the end of the data means
// truncated, a feature the decoder lacks means unsupported, and anything else
// (format errors, zlib and flate errors inside a PNG) means malformed.
func decodeError(kind imageKind, err, readErr error) error {
	var me *models.Error
	var ju jpeg.UnsupportedError
	var pu png.UnsupportedError
	name, hint := "JPEG", "Send a baseline or progressive 8-bit JPEG."
	if kind == kindPNG {
		name, hint = "PNG", "Send the photo as JPEG."
	}
	switch {
	case errors.As(err, &me):
		return err
	case readErr != nil:
		return &models.Error{Code: models.CodeInternal, Message: "could not read the image", Cause: readErr}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), truncationErrors[err.Error()]:
		return &models.Error{Code: models.CodeImageInvalid, Cause: err,
			Message: fmt.Sprintf("%s is truncated: the file ends before the image does", name),
			Hint:    "Upload the photo again; the copy received is incomplete."}
	case errors.As(err, &ju), errors.As(err, &pu):
		return &models.Error{Code: models.CodeUnsupportedImage, Cause: err,
			Message: fmt.Sprintf("%s uses a feature that is not supported", name), Hint: hint}
	}
	return &models.Error{Code: models.CodeImageInvalid, Cause: err, Message: fmt.Sprintf("%s is malformed", name)}
}

// InspectImage checks that the size bytes of r are an accepted photo and
// returns what it is.
//
// Only the content decides: JPEG and PNG are accepted; HEIC/HEIF and AVIF
// are refused with CodeUnsupportedImage and a hint to convert to JPEG, and so
// are GIF, WebP, TIFF and BMP; anything else is CodeImageInvalid "not an
// image". A file over lim.MaxBytes is CodeImageTooLarge. The header alone is
// read first and an image declaring more than lim.MaxPixels is refused with
// CodeImageTooLarge before any decode. The image is then decoded once in
// full to catch truncated (CodeImageInvalid, "truncated") and malformed
// (CodeImageInvalid, "malformed") files; a decoder panic is caught and is
// CodeImageInvalid too. EXIF is read with ParseEXIF: broken EXIF only adds
// flags. Every error is a *models.Error whose Message is safe for clients.
func InspectImage(r io.ReaderAt, size int64, lim ImageLimits) (ImageInfo, error) {
	lim = lim.withDefaults()
	if size <= 0 {
		return ImageInfo{}, models.Errorf(models.CodeImageInvalid, "not an image: the file is empty")
	}
	if size > lim.MaxBytes {
		return ImageInfo{}, models.Errorf(models.CodeImageTooLarge, "file is %d bytes; at most %d bytes is accepted", size, lim.MaxBytes)
	}
	var head [sniffLen]byte
	n, err := readAtFull(r, head[:], 0, size)
	if err != nil {
		return ImageInfo{}, &models.Error{Code: models.CodeInternal, Message: "could not read the image", Cause: err}
	}
	kind, name := sniff(head[:n])
	if err := refuseKind(kind, name); err != nil {
		return ImageInfo{}, err
	}

	cfg, err := checkHeader(kind, head[:n], io.NewSectionReader(r, 0, size), lim.MaxPixels)
	if err != nil {
		return ImageInfo{}, err
	}
	img, err := decodeFull(kind, io.NewSectionReader(r, 0, size))
	if err != nil {
		return ImageInfo{}, err
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return ImageInfo{}, models.Errorf(models.CodeImageInvalid, "image is malformed: its header and data disagree on its size")
	}

	info := ImageInfo{ContentType: contentTypeJPEG, Width: cfg.Width, Height: cfg.Height}
	if kind == kindPNG {
		info.ContentType = contentTypePNG
	}
	exif, flags, err := ParseEXIF(r, size)
	if err != nil {
		return ImageInfo{}, &models.Error{Code: models.CodeInternal, Message: "could not read the image", Cause: err}
	}
	info.EXIF, info.Flags = exif, flags
	return info, nil
}
