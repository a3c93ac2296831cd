//! Web Mercator tile maths: XYZ tile coordinates, projection, and Morton codes that order points by tile.

use std::f64::consts::PI;

/// Highest zoom served.
pub const MAX_TILE_ZOOM: u8 = 20;

/// Latitude where Web Mercator's square world ends.
const MAX_MERCATOR_LAT: f64 = 85.051_128_779_806_59;

/// An XYZ ("slippy map") tile: zoom, column from the west, row from the north.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileCoord {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileCoord {
    /// Checks that the tile exists; the error names the offending coordinate.
    pub fn new(z: u32, x: u64, y: u64) -> Result<TileCoord, (&'static str, String)> {
        if z > u32::from(MAX_TILE_ZOOM) {
            return Err((
                "z",
                format!("zoom {z} is out of range [0, {MAX_TILE_ZOOM}]"),
            ));
        }
        let size = 1u64 << z;
        if x >= size {
            return Err((
                "x",
                format!("column {x} is out of range [0, {}] at zoom {z}", size - 1),
            ));
        }
        if y >= size {
            return Err((
                "y",
                format!("row {y} is out of range [0, {}] at zoom {z}", size - 1),
            ));
        }
        Ok(TileCoord {
            z: z as u8,
            x: x as u32,
            y: y as u32,
        })
    }

    /// The range of Morton codes of every point inside this tile (half-open).
    pub fn code_range(&self) -> (u64, u64) {
        if self.z == 0 {
            return (0, u64::MAX);
        }
        let shift = 64 - 2 * u32::from(self.z);
        // Tile indices have z bits each, so their interleaving is the 2z-bit code prefix.
        let prefix = interleave(self.x, self.y);
        let start = prefix << shift;
        (start, start + ((1u64 << shift) - 1))
    }

    /// True when a point with Morton code `code` lies in this tile.
    pub fn contains_code(&self, code: u64) -> bool {
        let (start, last) = self.code_range();
        code >= start && code <= last
    }

    /// This tile and its neighbours up to `rings` tiles away (without wrapping).
    pub fn neighbourhood(&self, rings: u32) -> Vec<TileCoord> {
        let max = (1i64 << self.z) - 1;
        let r = i64::from(rings);
        let mut tiles = Vec::new();
        for dy in -r..=r {
            for dx in -r..=r {
                let (x, y) = (i64::from(self.x) + dx, i64::from(self.y) + dy);
                if (0..=max).contains(&x) && (0..=max).contains(&y) {
                    tiles.push(TileCoord {
                        z: self.z,
                        x: x as u32,
                        y: y as u32,
                    });
                }
            }
        }
        tiles
    }
}

/// Longitude to Web Mercator x in [0, 1].
pub fn mercator_x(lon: f64) -> f64 {
    (lon / 360.0 + 0.5).clamp(0.0, 1.0)
}

/// Latitude to Web Mercator y in [0, 1], 0 at the north edge.
pub fn mercator_y(lat: f64) -> f64 {
    let lat = lat.clamp(-MAX_MERCATOR_LAT, MAX_MERCATOR_LAT).to_radians();
    (0.5 - (lat.tan() + 1.0 / lat.cos()).ln() / (2.0 * PI)).clamp(0.0, 1.0)
}

pub fn lon_of(x: f64) -> f64 {
    (x - 0.5) * 360.0
}

pub fn lat_of(y: f64) -> f64 {
    (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees()
}

/// Position along the Z-order curve at 32 bits per axis: the points of any tile (of any
/// zoom up to 32) are one contiguous run of codes.
pub fn morton(lon: f64, lat: f64) -> u64 {
    let scale = |v: f64| ((v * 4_294_967_296.0) as u64).min(u64::from(u32::MAX)) as u32;
    interleave(scale(mercator_x(lon)), scale(mercator_y(lat)))
}

/// x bits at odd positions (the higher of each pair), y bits at even positions.
pub(crate) fn interleave(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    (spread(x) << 1) | spread(y)
}

/// The tile of a zoom that holds a point, from the same projection as [`morton`].
pub fn tile_of(lon: f64, lat: f64, z: u8) -> TileCoord {
    let scale = |v: f64| ((v * 4_294_967_296.0) as u64).min(u64::from(u32::MAX)) as u32;
    let shift = 32 - u32::from(z);
    let (x, y) = (scale(mercator_x(lon)), scale(mercator_y(lat)));
    TileCoord {
        z,
        x: if z == 0 { 0 } else { x >> shift },
        y: if z == 0 { 0 } else { y >> shift },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips() {
        for (lon, lat) in [(0.0, 0.0), (13.4, 52.5), (-179.9, -60.0), (179.9, 80.0)] {
            assert!((lon_of(mercator_x(lon)) - lon).abs() < 1e-9);
            assert!((lat_of(mercator_y(lat)) - lat).abs() < 1e-9);
        }
        assert!(mercator_y(90.0).abs() < 1e-12);
        assert!((mercator_y(-90.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn known_tiles() {
        // Berlin at zoom 10 is tile 550/335 in the XYZ scheme.
        assert_eq!(
            tile_of(13.4, 52.52, 10),
            TileCoord {
                z: 10,
                x: 550,
                y: 335
            }
        );
        assert_eq!(tile_of(-180.0, 85.0, 1), TileCoord { z: 1, x: 0, y: 0 });
        assert_eq!(tile_of(180.0, -85.0, 1), TileCoord { z: 1, x: 1, y: 1 });
    }

    #[test]
    fn a_tile_holds_exactly_the_codes_of_its_points() {
        let points = [
            (13.4, 52.52),
            (2.35, 48.85),
            (-9.1, 38.7),
            (179.99, -85.0),
            (0.0, 0.0),
        ];
        for z in 0..=20 {
            for (lon, lat) in points {
                let tile = tile_of(lon, lat, z);
                assert!(tile.contains_code(morton(lon, lat)), "{lon},{lat} z{z}");
                for other in tile.neighbourhood(1).into_iter().filter(|t| *t != tile) {
                    assert!(!other.contains_code(morton(lon, lat)));
                }
            }
        }
    }

    #[test]
    fn tile_coordinates_are_checked() {
        assert!(TileCoord::new(20, (1 << 20) - 1, 0).is_ok());
        assert_eq!(TileCoord::new(21, 0, 0).unwrap_err().0, "z");
        assert_eq!(TileCoord::new(3, 8, 0).unwrap_err().0, "x");
        assert_eq!(TileCoord::new(3, 0, 8).unwrap_err().0, "y");
        assert_eq!(TileCoord::new(0, 0, 0).unwrap().neighbourhood(1).len(), 1);
    }
}
