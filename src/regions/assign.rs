//! Point-in-region: an R-tree over the boxes of every polygon, an exact test after, a fixed
//! rule for points on borders and a short reach for points just off a simplified coast.

use geo::{BoundingRect, Closest, ClosestPoint, Intersects, Point, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{Region, RegionId};
use crate::geodesy::{distance_m, radius_box};
use crate::model::Location;

/// How far off every polygon a point may lie and still go to the nearest region: simplified
/// coastlines cut off harbours and beaches by a few kilometres.
pub const COAST_REACH_M: f64 = 10_000.0;

type PartBox = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Every polygon of every region of one layer, indexed by its bounding box.
pub struct PolygonLocator {
    parts: Vec<(RegionId, Polygon<f64>)>,
    tree: RTree<PartBox>,
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
            parts,
            tree: RTree::bulk_load(boxes),
        }
    }

    /// The region whose closed polygon holds `at`. A point on a shared border (or where
    /// simplified polygons overlap) goes to the region first in code order, so it is counted
    /// exactly once. A point outside every polygon goes to the nearest region within
    /// [`COAST_REACH_M`] (ties again by code), or to none.
    pub fn locate(&self, at: Location) -> Option<RegionId> {
        let point = Point::new(at.lon, at.lat);
        let inside = self
            .tree
            .locate_all_at_point([at.lon, at.lat])
            .map(|entry| &self.parts[entry.data as usize])
            .filter(|(_, polygon)| polygon.intersects(&point))
            .map(|(region, _)| *region)
            .min();
        inside.or_else(|| self.nearest_within_reach(at, point))
    }

    fn nearest_within_reach(&self, at: Location, point: Point<f64>) -> Option<RegionId> {
        let mut best: Option<(f64, RegionId)> = None;
        for [min, max] in radius_box(at, COAST_REACH_M).parts() {
            let area = AABB::from_corners(min, max);
            for entry in self.tree.locate_in_envelope_intersecting(area) {
                let (region, polygon) = &self.parts[entry.data as usize];
                let closest = match polygon.closest_point(&point) {
                    Closest::Intersection(p) | Closest::SinglePoint(p) => p,
                    Closest::Indeterminate => continue,
                };
                let metres = distance_m(
                    at,
                    Location {
                        lon: closest.x(),
                        lat: closest.y(),
                    },
                );
                let better = best.is_none_or(|(d, r)| metres < d || (metres == d && *region < r));
                if metres <= COAST_REACH_M && better {
                    best = Some((metres, *region));
                }
            }
        }
        best.map(|(_, region)| region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::tests::square;
    use geo::{LineString, MultiPolygon};

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
