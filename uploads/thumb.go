package uploads

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"math"

	"github.com/disintegration/imaging"

	"github.com/fieldsync/fieldsync/models"
)

// Thumbnail geometry and encoding.
const (
	thumbLargeSide = 1280 // long side of the large thumbnail, in pixels
	thumbSmallSide = 320  // long side of the small thumbnail
	thumbQuality   = 80   // JPEG quality of both
)

// Thumbs are the two JPEG thumbnails derived from a photo, upright, with
// their sizes in pixels as displayed.
type Thumbs struct {
	Small, Large   []byte
	SmallW, SmallH int
	LargeW, LargeH int
}

// OrientationSwapsAxes reports whether EXIF orientation o (5–8) turns the
// image a quarter turn, so that its displayed width is its stored height.
func OrientationSwapsAxes(o int) bool { return o >= 5 && o <= 8 }

// MakeThumbnails decodes the JPEG or PNG read from r once and returns a large
// thumbnail (at most 1280 px on the long side) and a small one (at most 320
// px, made from the large one), never upscaled, both JPEG at quality 80.
//
// orientation is the EXIF orientation (1–8; anything else means 1). It is
// applied to the thumbnails only, so they display upright without EXIF; the
// original is never touched. The header is checked against the default pixel
// limit before decoding, so MakeThumbnails is safe even on unchecked input,
// but callers should run InspectImage first. Errors are *models.Error as for
// InspectImage.
func MakeThumbnails(r io.Reader, orientation int) (Thumbs, error) {
	var magic [sniffLen]byte
	n, err := io.ReadFull(r, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Thumbs{}, &models.Error{Code: models.CodeInternal, Message: "could not read the image", Cause: err}
	}
	if n == 0 {
		return Thumbs{}, models.Errorf(models.CodeImageInvalid, "not an image: the file is empty")
	}
	kind, name := sniff(magic[:n])
	if err := refuseKind(kind, name); err != nil {
		return Thumbs{}, err
	}
	// The header is read through a tee so the full decode can replay it
	// without the caller's reader having to seek.
	var hdr bytes.Buffer
	_, err = checkHeader(kind, magic[:n], io.MultiReader(bytes.NewReader(magic[:n]), io.TeeReader(r, &hdr)),
		DefaultImageLimits().MaxPixels)
	if err != nil {
		return Thumbs{}, err
	}
	img, err := decodeFull(kind, io.MultiReader(bytes.NewReader(magic[:n]), &hdr, r))
	if err != nil {
		return Thumbs{}, err
	}
	return thumbnails(img, orientation)
}

// thumbnails makes both thumbnails from a decoded image.
func thumbnails(img image.Image, orientation int) (Thumbs, error) {
	b := img.Bounds()
	lw, lh := fitLong(b.Dx(), b.Dy(), thumbLargeSide)
	large := downscale(img, lw, lh)
	sw, sh := fitLong(lw, lh, thumbSmallSide)
	small := downscale(large, sw, sh)

	var t Thumbs
	var err error
	if t.Large, t.LargeW, t.LargeH, err = encodeThumb(large, orientation); err != nil {
		return Thumbs{}, err
	}
	if t.Small, t.SmallW, t.SmallH, err = encodeThumb(small, orientation); err != nil {
		return Thumbs{}, err
	}
	return t, nil
}

// fitLong returns w×h scaled so that its long side is at most long, keeping
// the aspect ratio; it never scales up.
func fitLong(w, h, long int) (int, int) {
	if w <= long && h <= long {
		return w, h
	}
	scale := func(short, longSide int) int {
		return max(1, int((int64(short)*int64(long)+int64(longSide)/2)/int64(longSide)))
	}
	if w >= h {
		return long, scale(h, w)
	}
	return scale(w, h), long
}

// downscale returns img resized to w×h (a no-op at the same size).
//
// A decoded JPEG is an *image.YCbCr, and it is resized plane by plane
// (resizeYCbCr): this reads the 8-bit planes the decoder produced directly,
// with no YCbCr→RGB conversion of 12 million pixels (what any RGBA resizer,
// imaging's included, must do first) and a quarter of the work for chroma,
// and the result is again an *image.YCbCr, which image/jpeg encodes through
// its fast path. Grayscale JPEGs take the same route with one plane. Other
// images (PNG, CMYK JPEG) are rare and go through imaging.Resize with the Box
// filter: for a downscale a box is an area average, the cheapest filter that
// does not alias, and imaging spreads it over all cores.
func downscale(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	if b.Dx() == w && b.Dy() == h {
		return img
	}
	switch m := img.(type) {
	case *image.YCbCr:
		if out := resizeYCbCr(m, w, h); out != nil {
			return out
		}
	case *image.Gray:
		if b.Min == (image.Point{}) {
			out := image.NewGray(image.Rect(0, 0, w, h))
			resizePlane(out.Pix, out.Stride, w, h, m.Pix, m.Stride, b.Dx(), b.Dy())
			return out
		}
	}
	return imaging.Resize(img, w, h, imaging.Box)
}

// chromaSize returns the size of the chroma planes of a w×h YCbCr image
// anchored at the origin, as image.NewYCbCr lays them out; ok is false for a
// ratio it does not know.
func chromaSize(w, h int, r image.YCbCrSubsampleRatio) (cw, ch int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return w, h, true
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h, true
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2, true
	case image.YCbCrSubsampleRatio440:
		return w, (h + 1) / 2, true
	case image.YCbCrSubsampleRatio411:
		return (w + 3) / 4, h, true
	case image.YCbCrSubsampleRatio410:
		return (w + 3) / 4, (h + 1) / 2, true
	}
	return 0, 0, false
}

// resizeYCbCr resizes each plane of src into a new w×h image with the same
// subsampling, or returns nil if src is not laid out as expected.
func resizeYCbCr(src *image.YCbCr, w, h int) *image.YCbCr {
	if src.Rect.Min != (image.Point{}) {
		return nil
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	scw, sch, ok := chromaSize(sw, sh, src.SubsampleRatio)
	if !ok {
		return nil
	}
	dcw, dch, _ := chromaSize(w, h, src.SubsampleRatio)
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), src.SubsampleRatio)
	resizePlane(dst.Y, dst.YStride, w, h, src.Y, src.YStride, sw, sh)
	resizePlane(dst.Cb, dst.CStride, dcw, dch, src.Cb, src.CStride, scw, sch)
	resizePlane(dst.Cr, dst.CStride, dcw, dch, src.Cr, src.CStride, scw, sch)
	return dst
}

// weightBits is the fixed-point precision of resampling weights: each
// output's weights sum to exactly 1<<weightBits.
const weightBits = 14

// areaWeights returns, for resampling a line of n source samples to m, the
// first source index of each output, the number of taps per output and the
// weights (m×taps, zero-padded). Output i averages the source interval
// [i·n/m, (i+1)·n/m) weighted by overlap: an exact area average (a box
// filter scaled to the output pixel), which is what a downscale needs to
// avoid aliasing, with no more taps than the interval covers.
func areaWeights(n, m int) (first []int, taps int, w []uint32) {
	s := float64(n) / float64(m)
	taps = min(n, int(math.Ceil(s))+1)
	first = make([]int, m)
	w = make([]uint32, m*taps)
	for i := 0; i < m; i++ {
		lo, hi := float64(i)*s, math.Min(float64(i+1)*s, float64(n))
		j0 := min(int(lo), n-taps)
		first[i] = j0
		ws := w[i*taps : (i+1)*taps]
		// Weights are differences of the rounded running total, so they sum
		// to exactly one (flat areas stay flat) and no tap drifts by more
		// than one unit however many taps there are.
		var cum float64
		var prev uint32
		for t := range ws {
			j := float64(j0 + t)
			if ov := math.Min(hi, j+1) - math.Max(lo, j); ov > 0 {
				cum += ov
			}
			r := uint32(math.Round(cum / (hi - lo) * (1 << weightBits)))
			ws[t] = r - prev
			prev = r
		}
	}
	return first, taps, w
}

// resizePlane resamples one 8-bit plane (sw×sh at src with srcStride) to
// dw×dh at dst with an area filter, separably: for each output row it sums
// the weighted source rows into one accumulator row (sequential, branch-free
// passes over memory) and then resamples that row horizontally. Only one
// row of accumulators is allocated, so the memory used is independent of
// the image size; integer arithmetic keeps it exact and fast.
func resizePlane(dst []byte, dstStride, dw, dh int, src []byte, srcStride, sw, sh int) {
	if dw <= 0 || dh <= 0 || sw <= 0 || sh <= 0 {
		return
	}
	yFirst, yTaps, yW := areaWeights(sh, dh)
	xFirst, xTaps, xW := areaWeights(sw, dw)
	acc := make([]uint32, sw)
	for y := 0; y < dh; y++ {
		ws := yW[y*yTaps : (y+1)*yTaps]
		r0 := yFirst[y]
		row := src[r0*srcStride:][:sw]
		w0 := ws[0]
		for x, v := range row {
			acc[x] = w0 * uint32(v)
		}
		for t := 1; t < len(ws); t++ {
			wt := ws[t]
			if wt == 0 {
				continue
			}
			row := src[(r0+t)*srcStride:][:sw]
			a := acc[:len(row)]
			for x, v := range row {
				a[x] += wt * uint32(v)
			}
		}
		out := dst[y*dstStride:][:dw]
		for x := range out {
			a := acc[xFirst[x]:][:xTaps]
			wx := xW[x*xTaps:][:xTaps]
			var sum uint64
			for t, w := range wx {
				sum += uint64(w) * uint64(a[t])
			}
			// sum ≤ 255 << 2·weightBits; round to 8 bits.
			out[x] = uint8((sum + 1<<(2*weightBits-1)) >> (2 * weightBits))
		}
	}
}

// orient returns img transformed for display by EXIF orientation o. The
// transforms run on thumbnails only (at most 1280 px), where imaging's
// exact pixel permutations cost a few milliseconds.
func orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img) // 90° clockwise: imaging turns counter-clockwise
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

// encodeThumb orients img and encodes it as JPEG, returning the bytes and the
// displayed size.
func encodeThumb(img image.Image, orientation int) ([]byte, int, int, error) {
	img = jpegReady(orient(img, orientation))
	b := img.Bounds()
	var buf bytes.Buffer
	buf.Grow(b.Dx()*b.Dy()/3 + 1024)
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return nil, 0, 0, &models.Error{Code: models.CodeInternal, Message: "could not make thumbnails", Cause: err}
	}
	return buf.Bytes(), b.Dx(), b.Dy(), nil
}

// jpegReady returns img in a form image/jpeg encodes through a fast path
// (*image.YCbCr, *image.Gray or *image.RGBA) instead of its per-pixel
// interface calls. Transparency, which JPEG lacks, is flattened onto white.
func jpegReady(img image.Image) image.Image {
	switch img.(type) {
	case *image.YCbCr, *image.Gray:
		return img
	}
	n, ok := img.(*image.NRGBA)
	if !ok {
		n = imaging.Clone(img)
	}
	// Once every pixel is opaque NRGBA and RGBA have the same bytes, so the
	// NRGBA can be handed to the encoder as RGBA without a copy.
	p := n.Pix
	for i := 0; i+3 < len(p); i += 4 {
		if a := uint32(p[i+3]); a != 0xFF {
			bg := (0xFF - a) * 0xFF
			p[i] = uint8((uint32(p[i])*a + bg + 127) / 0xFF)
			p[i+1] = uint8((uint32(p[i+1])*a + bg + 127) / 0xFF)
			p[i+2] = uint8((uint32(p[i+2])*a + bg + 127) / 0xFF)
			p[i+3] = 0xFF
		}
	}
	return &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
}
