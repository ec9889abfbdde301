package uploads

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

// Colours of the orientation test image: a red quadrant top-left and a blue
// one top-right when upright, white elsewhere, so every one of the eight
// orientations (flips included) puts the marker somewhere else.
var (
	red   = color.RGBA{220, 20, 20, 255}
	blue  = color.RGBA{20, 20, 220, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// uprightTestImage is the image as it should be displayed.
func uprightTestImage(w, h int) *image.RGBA {
	img := solid(w, h, white)
	for y := 0; y < h/2; y++ {
		for x := 0; x < w; x++ {
			switch {
			case x < w/2:
				img.SetRGBA(x, y, red)
			default:
				img.SetRGBA(x, y, blue)
			}
		}
	}
	return img
}

// storedAs returns how a camera stores upright image u when it writes EXIF
// orientation o: the pixels such that transforming them for o displays u.
// It is written from the EXIF definitions as coordinate maps, independently
// of the code under test: display(x, y) for stored pixel (sx, sy).
func storedAs(u *image.RGBA, o int) *image.RGBA {
	W, H := u.Bounds().Dx(), u.Bounds().Dy() // displayed size
	sw, sh := W, H
	if o >= 5 {
		sw, sh = H, W
	}
	s := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for sy := 0; sy < sh; sy++ {
		for sx := 0; sx < sw; sx++ {
			var dx, dy int
			switch o {
			case 1:
				dx, dy = sx, sy
			case 2: // mirror horizontal
				dx, dy = sw-1-sx, sy
			case 3: // rotate 180
				dx, dy = sw-1-sx, sh-1-sy
			case 4: // mirror vertical
				dx, dy = sx, sh-1-sy
			case 5: // mirror along the top-left/bottom-right diagonal
				dx, dy = sy, sx
			case 6: // rotate 90° clockwise to display
				dx, dy = sh-1-sy, sx
			case 7: // mirror along the top-right/bottom-left diagonal
				dx, dy = sh-1-sy, sw-1-sx
			case 8: // rotate 90° counter-clockwise to display
				dx, dy = sy, sw-1-sx
			}
			s.SetRGBA(sx, sy, u.RGBAAt(dx, dy))
		}
	}
	return s
}

// quadrantColours samples the centre of each quadrant of img (TL, TR, BL, BR).
func quadrantColours(img image.Image) [4]color.RGBA {
	b := img.Bounds()
	var out [4]color.RGBA
	for i, p := range []image.Point{{b.Dx() / 4, b.Dy() / 4}, {3 * b.Dx() / 4, b.Dy() / 4}, {b.Dx() / 4, 3 * b.Dy() / 4}, {3 * b.Dx() / 4, 3 * b.Dy() / 4}} {
		r, g, bl, _ := img.At(b.Min.X+p.X, b.Min.Y+p.Y).RGBA()
		out[i] = color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
	}
	return out
}

func colourNear(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

// TestThumbnailOrientation stores an asymmetric image with each of the eight
// EXIF orientations, runs it through InspectImage and MakeThumbnails as the
// pipeline does, and checks both thumbnails come out upright (red top-left,
// blue top-right) at the displayed size; the small one is also a golden file.
func TestThumbnailOrientation(t *testing.T) {
	const W, H = 1600, 1200 // displayed; large thumb 1280×960, small 320×240
	upright := uprightTestImage(W, H)
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint("orientation ", o), func(t *testing.T) {
			file := withEXIF(encodeJPEGForTest(storedAs(upright, o), 90),
				tiffBuilder{ifd0: []tiffField{fShort(le, tagOrientation, uint16(o))}}.build())
			info, err := InspectImage(bytes.NewReader(file), int64(len(file)), ImageLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if info.EXIF == nil || info.EXIF.Orientation != o {
				t.Fatalf("exif = %+v", info.EXIF)
			}
			if sw := map[bool]int{false: W, true: H}[OrientationSwapsAxes(o)]; info.Width != sw {
				t.Errorf("stored width = %d, want %d", info.Width, sw)
			}
			th, err := MakeThumbnails(bytes.NewReader(file), info.EXIF.Orientation)
			if err != nil {
				t.Fatal(err)
			}
			if th.LargeW != 1280 || th.LargeH != 960 || th.SmallW != 320 || th.SmallH != 240 {
				t.Errorf("sizes = large %d×%d small %d×%d, want 1280×960 and 320×240", th.LargeW, th.LargeH, th.SmallW, th.SmallH)
			}
			want := [4]color.RGBA{red, blue, white, white}
			for _, thumb := range []struct {
				name string
				data []byte
				w, h int
			}{{"large", th.Large, th.LargeW, th.LargeH}, {"small", th.Small, th.SmallW, th.SmallH}} {
				img, err := jpeg.Decode(bytes.NewReader(thumb.data))
				if err != nil {
					t.Fatalf("%s: %v", thumb.name, err)
				}
				if b := img.Bounds(); b.Dx() != thumb.w || b.Dy() != thumb.h {
					t.Errorf("%s: decoded %v, reported %d×%d", thumb.name, b, thumb.w, thumb.h)
				}
				got := quadrantColours(img)
				for i := range want {
					if !colourNear(got[i], want[i], 24) {
						t.Errorf("%s: quadrant colours %v, want %v (not upright)", thumb.name, got, want)
						break
					}
				}
				if thumb.name == "small" {
					golden(t, fmt.Sprintf("orientation-%d.png", o), encodePNGForTest(img), pixelsNear(8))
				}
			}
		})
	}
}

// pixelsNear compares two PNGs pixel by pixel within tol per channel, so a
// golden image survives small changes in the JPEG codec.
func pixelsNear(tol int) func(want, got []byte) error {
	return func(want, got []byte) error {
		a, err := png.Decode(bytes.NewReader(want))
		if err != nil {
			return err
		}
		b, err := png.Decode(bytes.NewReader(got))
		if err != nil {
			return err
		}
		if a.Bounds() != b.Bounds() {
			return fmt.Errorf("bounds %v, want %v", b.Bounds(), a.Bounds())
		}
		r := a.Bounds()
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				ca := color.RGBAModel.Convert(a.At(x, y)).(color.RGBA)
				cb := color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
				if !colourNear(ca, cb, tol) {
					return fmt.Errorf("pixel (%d,%d) = %v, want %v", x, y, cb, ca)
				}
			}
		}
		return nil
	}
}

func TestThumbnailSizes(t *testing.T) {
	for _, tc := range []struct {
		w, h           int
		lw, lh, sw, sh int
	}{
		{4000, 3000, 1280, 960, 320, 240},
		{3000, 4000, 960, 1280, 240, 320},
		{1280, 960, 1280, 960, 320, 240},
		{800, 600, 800, 600, 320, 240}, // never upscaled
		{200, 100, 200, 100, 200, 100},
		{4000, 9, 1280, 3, 320, 1},
		{9, 4000, 3, 1280, 1, 320},
		{1, 1, 1, 1, 1, 1},
		{1281, 1281, 1280, 1280, 320, 320},
		{2001, 1333, 1280, 853, 320, 213},
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
			th, err := MakeThumbnails(bytes.NewReader(encodeJPEGForTest(syntheticPhoto(tc.w, tc.h, 2), 85)), 1)
			if err != nil {
				t.Fatal(err)
			}
			if th.LargeW != tc.lw || th.LargeH != tc.lh || th.SmallW != tc.sw || th.SmallH != tc.sh {
				t.Errorf("large %d×%d small %d×%d; want %d×%d and %d×%d",
					th.LargeW, th.LargeH, th.SmallW, th.SmallH, tc.lw, tc.lh, tc.sw, tc.sh)
			}
			for _, d := range [][]byte{th.Large, th.Small} {
				if cfg, err := jpeg.DecodeConfig(bytes.NewReader(d)); err != nil {
					t.Errorf("thumbnail is not a JPEG: %v", err)
				} else if cfg.Width != tc.lw && cfg.Width != tc.sw {
					t.Errorf("thumbnail width %d", cfg.Width)
				}
			}
		})
	}
}

// TestThumbnailSources runs every decoded image type through MakeThumbnails
// (the YCbCr and Gray fast paths and imaging's general one) and checks the
// colour survives.
func TestThumbnailSources(t *testing.T) {
	const w, h = 1500, 700
	teal := color.RGBA{30, 160, 150, 255}
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	paletted := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{teal})
	gray := image.NewGray(image.Rect(0, 0, w, h))
	gray16 := image.NewGray16(image.Rect(0, 0, w, h))
	rgba64 := image.NewRGBA64(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(nrgba.Pix[4*i:], []uint8{teal.R, teal.G, teal.B, 255})
		gray.Pix[i] = 90
		gray16.Pix[2*i] = 90
		copy(rgba64.Pix[8*i:], []uint8{teal.R, 0, teal.G, 0, teal.B, 0, 255, 255})
	}
	grayJPEG := func() []byte {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, gray, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	for _, tc := range []struct {
		name string
		file []byte
		want color.RGBA
	}{
		{"ycbcr jpeg", encodeJPEGForTest(solid(w, h, teal), 95), teal},
		{"gray jpeg", grayJPEG, color.RGBA{90, 90, 90, 255}},
		{"nrgba png", encodePNGForTest(nrgba), teal},
		{"paletted png", encodePNGForTest(paletted), teal},
		{"gray16 png", encodePNGForTest(gray16), color.RGBA{90, 90, 90, 255}},
		{"rgba64 png", encodePNGForTest(rgba64), teal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, o := range []int{1, 6} {
				th, err := MakeThumbnails(bytes.NewReader(tc.file), o)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range [][]byte{th.Large, th.Small} {
					img, err := jpeg.Decode(bytes.NewReader(d))
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range quadrantColours(img) {
						if !colourNear(c, tc.want, 6) {
							t.Errorf("orientation %d: colour %v, want %v", o, c, tc.want)
						}
					}
				}
			}
		})
	}
}

// TestThumbnailTransparency checks transparent PNG pixels become white, not
// black, in the JPEG thumbnails.
func TestThumbnailTransparency(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 400, 400))
	for y := 0; y < 400; y++ {
		for x := 0; x < 200; x++ {
			img.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255}) // left half opaque black
		}
	}
	th, err := MakeThumbnails(bytes.NewReader(encodePNGForTest(img)), 1)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := jpeg.Decode(bytes.NewReader(th.Small))
	if err != nil {
		t.Fatal(err)
	}
	q := quadrantColours(dec)
	if !colourNear(q[0], color.RGBA{0, 0, 0, 255}, 8) || !colourNear(q[1], white, 8) {
		t.Errorf("quadrants %v: want opaque black left, white (was transparent) right", q)
	}
}

func TestMakeThumbnailsRefuses(t *testing.T) {
	photo := encodeJPEGForTest(syntheticPhoto(300, 200, 4), 90)
	for _, tc := range []struct {
		name    string
		file    []byte
		code    models.Code
		decodes int64
	}{
		{"jpeg bomb", jpegDeclaring(20000, 20000), models.CodeImageTooLarge, 0},
		{"png bomb", pngDeclaring(20000, 20000), models.CodeImageTooLarge, 0},
		{"heic", heifHeader("heic", "mif1"), models.CodeUnsupportedImage, 0},
		{"text", []byte("just some text"), models.CodeImageInvalid, 0},
		{"empty", nil, models.CodeImageInvalid, 0},
		{"truncated", photo[:len(photo)/2], models.CodeImageInvalid, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := decodeCalls.Load()
			_, err := MakeThumbnails(bytes.NewReader(tc.file), 1)
			if codeOf(err) != tc.code {
				t.Errorf("code = %q (%v), want %q", codeOf(err), err, tc.code)
			}
			if got := decodeCalls.Load() - before; got != tc.decodes {
				t.Errorf("full decodes = %d, want %d", got, tc.decodes)
			}
		})
	}
}

// TestMakeThumbnailsPlainReader checks the header tee: a reader that can
// only be read once, front to back (a network stream, a blob), is enough.
func TestMakeThumbnailsPlainReader(t *testing.T) {
	photo := encodeJPEGForTest(syntheticPhoto(1500, 1000, 9), 90)
	th, err := MakeThumbnails(struct{ io.Reader }{bytes.NewReader(photo)}, 1)
	if err != nil || th.LargeW != 1280 || th.LargeH != 853 {
		t.Fatalf("MakeThumbnails = %d×%d, %v", th.LargeW, th.LargeH, err)
	}
}

// TestAreaWeights checks every output's weights sum to one exactly and stay
// inside the source, for many scale factors.
func TestThumbAreaWeights(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 100, 1280, 4000, 4001} {
		for _, m := range []int{1, 2, 3, 320, 959, 1280} {
			if m > n {
				continue
			}
			first, taps, w := areaWeights(n, m)
			for i := 0; i < m; i++ {
				var sum uint32
				for _, v := range w[i*taps : (i+1)*taps] {
					sum += v
				}
				if sum != 1<<weightBits {
					t.Fatalf("%d→%d output %d: weights sum to %d", n, m, i, sum)
				}
				if first[i] < 0 || first[i]+taps > n {
					t.Fatalf("%d→%d output %d: taps [%d,%d) outside [0,%d)", n, m, i, first[i], first[i]+taps, n)
				}
			}
		}
	}
}

// TestResizePlaneMatchesReference compares the fixed-point resizer with a
// direct float area average on random data: off by at most one level.
func TestThumbResizePlaneMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range [][4]int{{4000, 3000, 1280, 960}, {17, 13, 5, 4}, {640, 480, 160, 120}, {100, 7, 33, 7}, {9, 9, 9, 9}, {1000, 3, 1, 1}} {
		sw, sh, dw, dh := tc[0], tc[1], tc[2], tc[3]
		stride := sw + 3
		src := make([]byte, stride*sh)
		for i := range src {
			src[i] = uint8(rng.IntN(256))
		}
		dst := make([]byte, dw*dh)
		resizePlane(dst, dw, dw, dh, src, stride, sw, sh)
		sx, sy := float64(sw)/float64(dw), float64(sh)/float64(dh)
		for y := 0; y < dh; y += max(1, dh/40) {
			for x := 0; x < dw; x += max(1, dw/40) {
				var sum, area float64
				for j := int(float64(y) * sy); float64(j) < float64(y+1)*sy && j < sh; j++ {
					oy := min(float64(y+1)*sy, float64(j+1)) - max(float64(y)*sy, float64(j))
					for i := int(float64(x) * sx); float64(i) < float64(x+1)*sx && i < sw; i++ {
						ox := min(float64(x+1)*sx, float64(i+1)) - max(float64(x)*sx, float64(i))
						sum += ox * oy * float64(src[j*stride+i])
						area += ox * oy
					}
				}
				want := sum / area
				if got := float64(dst[y*dw+x]); got < want-1 || got > want+1 {
					t.Fatalf("%v at (%d,%d): %v, want %.2f", tc, x, y, got, want)
				}
			}
		}
	}
}

// TestResizeYCbCrRatios resizes each chroma subsampling Go can decode and
// checks the colours survive.
func TestThumbResizeYCbCrRatios(t *testing.T) {
	for _, r := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		src := image.NewYCbCr(image.Rect(0, 0, 1001, 603), r)
		for i := range src.Y {
			src.Y[i] = 120
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = 60, 200
		}
		out := downscale(src, 320, 193)
		dst, ok := out.(*image.YCbCr)
		if !ok || dst.SubsampleRatio != r || dst.Bounds() != image.Rect(0, 0, 320, 193) {
			t.Fatalf("%v: got %T %v", r, out, out.Bounds())
		}
		for _, p := range []image.Point{{0, 0}, {319, 192}, {160, 90}} {
			if c := dst.YCbCrAt(p.X, p.Y); c != (color.YCbCr{120, 60, 200}) {
				t.Errorf("%v: pixel %v = %v", r, p, c)
			}
		}
	}
}

func TestOrientationSwapsAxes(t *testing.T) {
	var got []string
	for o := 0; o <= 9; o++ {
		got = append(got, fmt.Sprint(OrientationSwapsAxes(o)))
	}
	if want := "false false false false false true true true true false"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestThumbnail12MPMemory holds MakeThumbnails to its memory budget on a 12
// MP photo: at most 100 MiB allocated per call (an upper bound on the peak
// heap it adds). Time is left to BenchmarkThumbnail12MP.
func TestThumbnail12MPMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("makes a 12 MP JPEG")
	}
	data := photo12MP()
	for _, o := range []int{1, 6} {
		var err error
		_, _, mib := measure(func() { _, err = MakeThumbnails(bytes.NewReader(data), o) })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("orientation %d: %.1f MiB allocated", o, mib)
		if mib > 100 {
			t.Errorf("orientation %d: %.1f MiB allocated, budget 100 MiB", o, mib)
		}
	}
}
