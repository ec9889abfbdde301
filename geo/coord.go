package geo

import "math"

// Chinese map SDKs report shifted coordinates: GCJ-02 (高德, 腾讯, Google in
// China) adds a deliberate, nonlinear offset of a few hundred metres to WGS84,
// and BD-09 (百度) adds a further offset to GCJ-02. The forward formulas are
// the well-known public ones; no closed-form inverse exists, so the inverses
// here iterate the forward formula until the round trip is below a millimetre.
//
// Every function returns its input unchanged outside the rough bounding box of
// China that the forward formula itself uses, because no offset is applied
// there.

// Krasovsky 1940 ellipsoid, which the GCJ-02 formula is built on.
const (
	gcjA  = 6378245.0
	gcjEE = 0.00669342162296594323
	bdXPi = math.Pi * 3000.0 / 180.0
)

// OutOfChina reports whether (lat, lon) lies outside the box in which GCJ-02
// applies an offset.
func OutOfChina(lat, lon float64) bool {
	return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271)
}

func gcjTransform(x, y float64) (dLat, dLon float64) {
	xy := x * y
	absX := math.Sqrt(math.Abs(x))
	xPi := x * math.Pi
	yPi := y * math.Pi
	d := 20.0*math.Sin(6.0*xPi) + 20.0*math.Sin(2.0*xPi)

	dLat = d
	dLon = d
	dLat += 20.0*math.Sin(yPi) + 40.0*math.Sin(yPi/3.0)
	dLon += 20.0*math.Sin(xPi) + 40.0*math.Sin(xPi/3.0)
	dLat += 160.0*math.Sin(yPi/12.0) + 320*math.Sin(yPi/30.0)
	dLon += 150.0*math.Sin(xPi/12.0) + 300.0*math.Sin(xPi/30.0)
	dLat *= 2.0 / 3.0
	dLon *= 2.0 / 3.0
	dLat += -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*xy + 0.2*absX
	dLon += 300.0 + x + 2.0*y + 0.1*x*x + 0.1*xy + 0.1*absX
	return dLat, dLon
}

// gcjDelta is the GCJ-02 offset at a WGS84 point, in degrees.
func gcjDelta(lat, lon float64) (dLat, dLon float64) {
	dLat, dLon = gcjTransform(lon-105.0, lat-35.0)
	radLat := lat / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - gcjEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (gcjA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLat, dLon
}

// WGS84ToGCJ02 converts a WGS84 point to GCJ-02.
func WGS84ToGCJ02(lat, lon float64) (gcjLat, gcjLon float64) {
	if OutOfChina(lat, lon) {
		return lat, lon
	}
	dLat, dLon := gcjDelta(lat, lon)
	return lat + dLat, lon + dLon
}

// GCJ02ToWGS84 converts a GCJ-02 point (高德, 腾讯) to WGS84. It inverts
// WGS84ToGCJ02 by fixed-point iteration: the result maps forward to the input
// within about a millimetre, far below the one-metre accuracy required.
func GCJ02ToWGS84(gcjLat, gcjLon float64) (lat, lon float64) {
	if OutOfChina(gcjLat, gcjLon) || !finite(gcjLat) || !finite(gcjLon) {
		return gcjLat, gcjLon
	}
	// Start from the one-step estimate, then correct by the residual: the
	// offset changes slowly, so each step shrinks the error about a
	// thousandfold.
	dLat, dLon := gcjDelta(gcjLat, gcjLon)
	lat, lon = gcjLat-dLat, gcjLon-dLon
	for range 10 {
		fLat, fLon := WGS84ToGCJ02(lat, lon)
		eLat, eLon := fLat-gcjLat, fLon-gcjLon
		lat, lon = lat-eLat, lon-eLon
		if math.Abs(eLat) < 1e-10 && math.Abs(eLon) < 1e-10 {
			break
		}
	}
	return lat, lon
}

// GCJ02ToBD09 converts a GCJ-02 point to BD-09.
func GCJ02ToBD09(gcjLat, gcjLon float64) (bdLat, bdLon float64) {
	if OutOfChina(gcjLat, gcjLon) {
		return gcjLat, gcjLon
	}
	x, y := gcjLon, gcjLat
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdXPi)
	return z*math.Sin(theta) + 0.006, z*math.Cos(theta) + 0.0065
}

// BD09ToGCJ02 converts a BD-09 point to GCJ-02 by the published inverse
// formula, which is itself approximate; BD09ToWGS84 refines it.
func BD09ToGCJ02(bdLat, bdLon float64) (gcjLat, gcjLon float64) {
	if OutOfChina(bdLat, bdLon) {
		return bdLat, bdLon
	}
	x, y := bdLon-0.0065, bdLat-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	return z * math.Sin(theta), z * math.Cos(theta)
}

// WGS84ToBD09 converts a WGS84 point to BD-09.
func WGS84ToBD09(lat, lon float64) (bdLat, bdLon float64) {
	if OutOfChina(lat, lon) {
		return lat, lon
	}
	return GCJ02ToBD09(WGS84ToGCJ02(lat, lon))
}

// BD09ToWGS84 converts a BD-09 point (百度) to WGS84. It starts from the
// published inverse formulas and iterates on the full forward conversion, so
// the result maps forward to the input within about a millimetre.
func BD09ToWGS84(bdLat, bdLon float64) (lat, lon float64) {
	if OutOfChina(bdLat, bdLon) || !finite(bdLat) || !finite(bdLon) {
		return bdLat, bdLon
	}
	lat, lon = GCJ02ToWGS84(BD09ToGCJ02(bdLat, bdLon))
	for range 10 {
		fLat, fLon := WGS84ToBD09(lat, lon)
		eLat, eLon := fLat-bdLat, fLon-bdLon
		lat, lon = lat-eLat, lon-eLon
		if math.Abs(eLat) < 1e-10 && math.Abs(eLon) < 1e-10 {
			break
		}
	}
	return lat, lon
}
