//! A regular grid of points inside each region, a few kilometres apart, so that the share of a
//! region far from any initiative is the share of its grid points far from one.

use std::ops::Range;

use geo::{BoundingRect, InteriorPoint, LineString, MultiPolygon};
use rayon::prelude::*;

use super::Region;
use crate::geodesy::unit_vector;
use crate::model::Location;

/// About this many points per region, within the spacing bounds below.
const TARGET_SAMPLES: f64 = 120.0;
/// The grid is never finer than this (small urban regions) ...
const MIN_SPACING_KM: f64 = 1.0;
/// ... nor coarser than this (large regions).
const MAX_SPACING_KM: f64 = 10.0;
/// Kilometres in one degree of latitude (on the sphere of `geo`'s mean radius).
const KM_PER_DEGREE: f64 = 111.195;

/// Grid points of every region of a layer, as unit vectors, grouped by region.
pub struct Samples {
    points: Vec<[f64; 3]>,
    ranges: Vec<Range<u32>>,
}

impl Samples {
    pub fn new(regions: &[Region]) -> Samples {
        let per_region: Vec<Vec<[f64; 3]>> = regions
            .par_iter()
            .map(|r| {
                grid_points(&r.shape, spacing_km(r.area_km2))
                    .into_iter()
                    .map(unit_vector)
                    .collect()
            })
            .collect();
        let mut points = Vec::with_capacity(per_region.iter().map(Vec::len).sum());
        let mut ranges = Vec::with_capacity(regions.len());
        for region_points in per_region {
            let start = points.len() as u32;
            points.extend(region_points);
            ranges.push(start..points.len() as u32);
        }
        Samples { points, ranges }
    }

    /// The grid points of region `id` (at least one for any region with an area).
    pub fn of(&self, id: usize) -> &[[f64; 3]] {
        let range = &self.ranges[id];
        &self.points[range.start as usize..range.end as usize]
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// The grid spacing for a region of `area_km2`: about [`TARGET_SAMPLES`] points, bounded.
pub fn spacing_km(area_km2: f64) -> f64 {
    (area_km2 / TARGET_SAMPLES)
        .sqrt()
        .clamp(MIN_SPACING_KM, MAX_SPACING_KM)
}

/// Points `spacing_km` apart (north-south and east-west) inside `shape`, each standing for an
/// equal area. Rows are scanned: where a row crosses the rings' edges decides which stretches
/// of it are inside (even-odd, so holes are left out). A shape too small to hold a grid
/// point gets one point inside it.
pub fn grid_points(shape: &MultiPolygon<f64>, spacing_km: f64) -> Vec<Location> {
    let Some(bounds) = shape.bounding_rect() else {
        return Vec::new();
    };
    let (min, max) = (bounds.min(), bounds.max());
    let rings: Vec<&LineString<f64>> = shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .collect();
    let dlat = spacing_km / KM_PER_DEGREE;
    let rows = ((max.y - min.y) / dlat).ceil().max(1.0) as usize;
    let mut points = Vec::new();
    let mut crossings = Vec::new();
    for row in 0..rows {
        let lat = min.y + (row as f64 + 0.5) * dlat;
        if lat > max.y {
            break;
        }
        crossings.clear();
        for ring in &rings {
            for line in ring.lines() {
                let (a, b) = (line.start, line.end);
                if (a.y <= lat) != (b.y <= lat) {
                    crossings.push(a.x + (lat - a.y) * (b.x - a.x) / (b.y - a.y));
                }
            }
        }
        crossings.sort_by(f64::total_cmp);
        let dlon = spacing_km / (KM_PER_DEGREE * lat.to_radians().cos().max(1e-6));
        for pair in crossings.chunks_exact(2) {
            // Columns on the region's own grid, so neighbouring stretches never share one.
            let first = ((pair[0] - min.x) / dlon - 0.5).ceil().max(0.0) as i64;
            let last = ((pair[1] - min.x) / dlon - 0.5).floor() as i64;
            for column in first..=last {
                let lon = min.x + (column as f64 + 0.5) * dlon;
                points.push(Location { lon, lat });
            }
        }
    }
    if points.is_empty()
        && let Some(inside) = shape.interior_point()
    {
        points.push(Location {
            lon: inside.x(),
            lat: inside.y(),
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::tests::square;
    use geo::{Contains, Point, Polygon};

    #[test]
    fn a_square_is_covered_evenly() {
        // One degree square at the equator: 111 km a side.
        let region = square("AA1", 0.0, 0.0, 1.0, 1.0);
        let points = grid_points(&region.shape, 10.0);
        // About 11 × 11, all inside.
        assert!((110..=125).contains(&points.len()), "{}", points.len());
        assert!(
            points
                .iter()
                .all(|p| region.shape.contains(&Point::new(p.lon, p.lat)))
        );
    }

    #[test]
    fn holes_are_left_out_and_tiny_islands_get_a_point() {
        let outer = LineString::from(vec![
            (0.0, 0.0),
            (1.0, 0.0),
            (1.0, 1.0),
            (0.0, 1.0),
            (0.0, 0.0),
        ]);
        let hole = LineString::from(vec![
            (0.25, 0.25),
            (0.75, 0.25),
            (0.75, 0.75),
            (0.25, 0.75),
            (0.25, 0.25),
        ]);
        let islands = MultiPolygon(vec![
            Polygon::new(outer, vec![hole]),
            square("XX", 5.0, 5.0, 5.001, 5.001).shape.0[0].clone(),
        ]);
        let points = grid_points(&islands, 5.0);
        let in_hole = points
            .iter()
            .filter(|p| p.lon > 0.25 && p.lon < 0.75 && p.lat > 0.25 && p.lat < 0.75)
            .count();
        assert_eq!(in_hole, 0);
        // The hole is a quarter of the square: about three quarters of 22 × 22 remain.
        let in_square = points.iter().filter(|p| p.lon < 2.0).count();
        assert!((330..=400).contains(&in_square), "{in_square}");
        let tiny = square("TT", 5.0, 5.0, 5.001, 5.001);
        assert_eq!(grid_points(&tiny.shape, 5.0).len(), 1);
    }

    #[test]
    fn spacing_adapts_to_the_area() {
        assert_eq!(spacing_km(1.0), MIN_SPACING_KM);
        assert_eq!(spacing_km(1e7), MAX_SPACING_KM);
        let mid = spacing_km(3_000.0);
        assert!(mid > 4.0 && mid < 6.0, "{mid}");
        let samples = Samples::new(&[
            square("AA1", 0.0, 0.0, 1.0, 1.0),
            square("BB1", 2.0, 0.0, 2.1, 0.1),
        ]);
        // 12,000 km² and 120 km²: about the same number of points, at 10 km and 1 km.
        for id in 0..2 {
            assert!(
                (90..=150).contains(&samples.of(id).len()),
                "{}",
                samples.of(id).len()
            );
        }
        assert_eq!(samples.len(), samples.of(0).len() + samples.of(1).len());
    }
}
