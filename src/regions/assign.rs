//! Point-in-region: an R-tree over the boxes of every polygon, an exact test after, a fixed
//! rule for points on borders and a short reach for points just off a simplified coast.

use geo::{BoundingRect, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{Region, RegionId};
use crate::geodesy::radius_box;
use crate::model::Location;

/// How far off every polygon a point may lie and still go to the nearest region: simplified
/// coastlines cut off harbours and beaches by a few kilometres.
pub const COAST_REACH_M: f64 = 10_000.0;

type PartBox = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Every polygon of every region of one layer, indexed by its bounding box.
pub struct PolygonLocator {
    /// The region of each polygon.
    regions: Vec<RegionId>,
    banded: Vec<BandedPolygon>,
    tree: RTree<PartBox>,
}

/// A polygon's edges (all rings) sorted into horizontal bands, so that the crossing-number
/// test of a point reads only the few edges of its band instead of the whole outline.
struct BandedPolygon {
    south: f64,
    band_height: f64,
    /// Edges as `[x1, y1, x2, y2]`, each in every band its latitude range touches.
    bands: Vec<Vec<[f64; 4]>>,
}

/// About this many edges per band.
const EDGES_PER_BAND: usize = 4;

impl BandedPolygon {
    fn new(polygon: &Polygon<f64>) -> BandedPolygon {
        let edges: Vec<[f64; 4]> = std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .flat_map(|ring| ring.lines())
            .map(|l| [l.start.x, l.start.y, l.end.x, l.end.y])
            .collect();
        let south = edges
            .iter()
            .map(|e| e[1].min(e[3]))
            .fold(f64::INFINITY, f64::min);
        let north = edges
            .iter()
            .map(|e| e[1].max(e[3]))
            .fold(f64::NEG_INFINITY, f64::max);
        let count = (edges.len() / EDGES_PER_BAND).max(1);
        let band_height = ((north - south) / count as f64).max(f64::MIN_POSITIVE);
        let mut bands = vec![Vec::new(); count];
        let band_of = |y: f64| (((y - south) / band_height) as usize).min(count - 1);
        for edge in edges {
            let (low, high) = (edge[1].min(edge[3]), edge[1].max(edge[3]));
            for band in &mut bands[band_of(low)..=band_of(high)] {
                band.push(edge);
            }
        }
        BandedPolygon {
            south,
            band_height,
            bands,
        }
    }

    /// True when the point is inside or on the boundary (the closed polygon, as `geo`'s
    /// `Intersects` has it): a point on an edge, else an odd number of edges crossing the
    /// ray from the point eastwards.
    fn holds(&self, x: f64, y: f64) -> bool {
        let position = (y - self.south) / self.band_height;
        if !(0.0..=self.bands.len() as f64).contains(&position) {
            return false;
        }
        let band = &self.bands[(position as usize).min(self.bands.len() - 1)];
        let mut inside = false;
        for &[x1, y1, x2, y2] in band {
            let on_line = (x2 - x1) * (y - y1) == (y2 - y1) * (x - x1);
            if on_line && x >= x1.min(x2) && x <= x1.max(x2) && y >= y1.min(y2) && y <= y1.max(y2) {
                return true;
            }
            if (y1 <= y) != (y2 <= y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
                inside = !inside;
            }
        }
        inside
    }

    /// The squared distance (in degrees of latitude) from a point to the nearest edge within
    /// `reach` degrees, on a plane whose longitudes are shrunk by `shrink` (the cosine of the
    /// latitude: equirectangular, exact enough within a few kilometres); only the bands
    /// within reach are read.
    fn nearest_edge(&self, x: f64, y: f64, shrink: f64, reach: f64) -> Option<f64> {
        let last = self.bands.len() as f64 - 1.0;
        let band = |lat: f64| ((lat - self.south) / self.band_height).clamp(0.0, last) as usize;
        let mut best: Option<f64> = None;
        for edges in &self.bands[band(y - reach)..=band(y + reach)] {
            for &[x1, y1, x2, y2] in edges {
                let (ax, ay) = ((x1 - x) * shrink, y1 - y);
                let (dx, dy) = ((x2 - x1) * shrink, y2 - y1);
                let length2 = dx * dx + dy * dy;
                let t = if length2 > 0.0 {
                    (-(ax * dx + ay * dy) / length2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (px, py) = (ax + t * dx, ay + t * dy);
                let d2 = px * px + py * py;
                if d2 <= reach * reach && best.is_none_or(|b| d2 < b) {
                    best = Some(d2);
                }
            }
        }
        best
    }
}

impl PolygonLocator {
    pub fn new(regions: &[Region]) -> PolygonLocator {
        let parts: Vec<(RegionId, Polygon<f64>)> = regions
            .iter()
            .enumerate()
            .flat_map(|(id, region)| {
                region
                    .shape
                    .0
                    .iter()
                    .map(move |polygon| (id as RegionId, polygon.clone()))
            })
            .collect();
        let boxes = parts
            .iter()
            .enumerate()
            .filter_map(|(at, (_, polygon))| {
                let rect = polygon.bounding_rect()?;
                let (min, max) = (rect.min(), rect.max());
                Some(GeomWithData::new(
                    Rectangle::from_corners([min.x, min.y], [max.x, max.y]),
                    at as u32,
                ))
            })
            .collect();
        PolygonLocator {
            regions: parts.iter().map(|(region, _)| *region).collect(),
            banded: parts.iter().map(|(_, p)| BandedPolygon::new(p)).collect(),
            tree: RTree::bulk_load(boxes),
        }
    }

    /// The region whose closed polygon holds `at`. A point on a shared border (or where
    /// simplified polygons overlap) goes to the region first in code order, so it is counted
    /// exactly once. A point outside every polygon goes to the nearest region within
    /// [`COAST_REACH_M`] (ties again by code), or to none.
    pub fn locate(&self, at: Location) -> Option<RegionId> {
        let inside = self
            .tree
            .locate_all_at_point([at.lon, at.lat])
            .filter(|entry| self.banded[entry.data as usize].holds(at.lon, at.lat))
            .map(|entry| self.regions[entry.data as usize])
            .min();
        inside.or_else(|| self.nearest_within_reach(at))
    }

    fn nearest_within_reach(&self, at: Location) -> Option<RegionId> {
        let shrink = at.lat.to_radians().cos();
        let reach = COAST_REACH_M / METRES_PER_DEGREE;
        let mut best: Option<(f64, RegionId)> = None;
        for [min, max] in radius_box(at, COAST_REACH_M).parts() {
            let area = AABB::from_corners(min, max);
            for entry in self.tree.locate_in_envelope_intersecting(area) {
                let part = entry.data as usize;
                let region = self.regions[part];
                let Some(d2) = self.banded[part].nearest_edge(at.lon, at.lat, shrink, reach) else {
                    continue;
                };
                if best.is_none_or(|(d, r)| d2 < d || (d2 == d && region < r)) {
                    best = Some((d2, region));
                }
            }
        }
        best.map(|(_, region)| region)
    }
}

/// Metres in one degree of latitude on the sphere of `geo`'s mean radius.
const METRES_PER_DEGREE: f64 = 111_195.0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::tests::square;
    use geo::{LineString, MultiPolygon, Point};

    fn at(lon: f64, lat: f64) -> Location {
        Location { lon, lat }
    }

    fn code_at(regions: &[Region], locator: &PolygonLocator, lon: f64, lat: f64) -> Option<String> {
        locator
            .locate(at(lon, lat))
            .map(|id| regions[id as usize].code.to_string())
    }

    #[test]
    fn borders_go_to_exactly_one_region() {
        // Sorted by code, as a layer keeps them.
        let regions = vec![
            square("AA1", 0.0, 40.0, 1.0, 41.0),
            square("BB1", 1.0, 40.0, 2.0, 41.0),
            square("CC1", 0.0, 41.0, 2.0, 42.0),
        ];
        let locator = PolygonLocator::new(&regions);
        let code = |lon, lat| code_at(&regions, &locator, lon, lat);
        assert_eq!(code(0.5, 40.5).as_deref(), Some("AA1"));
        assert_eq!(code(1.5, 40.5).as_deref(), Some("BB1"));
        // On the shared edge of AA1 and BB1, and on the corner all three share.
        assert_eq!(code(1.0, 40.5).as_deref(), Some("AA1"));
        assert_eq!(code(1.0, 41.0).as_deref(), Some("AA1"));
        assert_eq!(code(1.5, 41.0).as_deref(), Some("BB1"));
        // On an outer edge: still inside the closed polygon.
        assert_eq!(code(2.0, 40.5).as_deref(), Some("BB1"));
    }

    #[test]
    fn holes_and_multipolygons() {
        // A region with a hole, a region filling that hole, and a region of two islands.
        let outer = LineString::from(vec![
            (0.0, 0.0),
            (4.0, 0.0),
            (4.0, 4.0),
            (0.0, 4.0),
            (0.0, 0.0),
        ]);
        let hole = LineString::from(vec![
            (1.0, 1.0),
            (3.0, 1.0),
            (3.0, 3.0),
            (1.0, 3.0),
            (1.0, 1.0),
        ]);
        let ring = Region::new(
            "XA1",
            "Ring",
            "XA",
            MultiPolygon(vec![Polygon::new(outer, vec![hole])]),
        );
        let islands = Region::new(
            "XB1",
            "Islands",
            "XB",
            MultiPolygon(vec![
                square("XB1", 10.0, 0.0, 11.0, 1.0).shape.0[0].clone(),
                square("XB1", 12.0, 0.0, 13.0, 1.0).shape.0[0].clone(),
            ]),
        );
        let regions = vec![ring, islands, square("XC1", 1.0, 1.0, 3.0, 3.0)];
        let locator = PolygonLocator::new(&regions);
        let code = |lon, lat| code_at(&regions, &locator, lon, lat);
        assert_eq!(code(0.5, 0.5).as_deref(), Some("XA1"));
        assert_eq!(code(2.0, 2.0).as_deref(), Some("XC1"), "in the hole");
        assert_eq!(
            code(1.0, 2.0).as_deref(),
            Some("XA1"),
            "on the hole's edge: both; XA1 first"
        );
        assert_eq!(code(10.5, 0.5).as_deref(), Some("XB1"));
        assert_eq!(code(12.5, 0.5).as_deref(), Some("XB1"));
        // Between the islands: 0.5° (55 km) from either, out of reach.
        assert_eq!(code(11.5, 0.5), None);
    }

    #[test]
    fn banded_test_agrees_with_geo() {
        use geo::Intersects;
        use rand::{RngExt, SeedableRng};
        // A star-shaped polygon with a hole, and random points around it.
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let star: Vec<(f64, f64)> = (0..=40)
            .map(|i| {
                let a = f64::from(i % 40) / 40.0 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 3.0 } else { 1.5 };
                (r * a.cos(), r * a.sin())
            })
            .collect();
        let hole = LineString::from(vec![
            (-0.5, -0.5),
            (0.5, -0.5),
            (0.5, 0.5),
            (-0.5, 0.5),
            (-0.5, -0.5),
        ]);
        let polygon = Polygon::new(LineString::from(star), vec![hole]);
        let banded = BandedPolygon::new(&polygon);
        for _ in 0..20_000 {
            let (x, y) = (rng.random_range(-3.5..3.5), rng.random_range(-3.5..3.5));
            assert_eq!(
                banded.holds(x, y),
                polygon.intersects(&Point::new(x, y)),
                "({x}, {y})"
            );
        }
        // Vertices and edges belong to the closed polygon.
        assert!(banded.holds(3.0, 0.0) && banded.holds(0.5, 0.0) && banded.holds(0.0, -0.5));
        assert!(!banded.holds(0.0, 0.0), "in the hole");
    }

    #[test]
    fn points_just_off_the_coast_go_to_the_nearest_region() {
        let regions = vec![
            square("AA1", 0.0, 50.0, 1.0, 51.0),
            square("BB1", 1.05, 50.0, 2.0, 51.0),
        ];
        let locator = PolygonLocator::new(&regions);
        let code = |lon, lat| code_at(&regions, &locator, lon, lat);
        // 0.02° of longitude at 50.5°N is about 1.4 km.
        assert_eq!(code(-0.02, 50.5).as_deref(), Some("AA1"));
        assert_eq!(code(1.04, 50.5).as_deref(), Some("BB1"));
        assert_eq!(code(1.01, 50.5).as_deref(), Some("AA1"));
        // 0.5° north of the top edge (55 km): nowhere.
        assert_eq!(code(0.5, 51.5), None);
        // 0.05° north (5.6 km): the region below.
        assert_eq!(code(0.5, 51.05).as_deref(), Some("AA1"));
    }
}
