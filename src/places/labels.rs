//! Place labels for the base map: from which zoom each city is labelled, so that capitals and
//! large cities show first, more appear as one zooms in, and no two labels overlap.

use std::collections::HashMap;

use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use super::Place;
use super::names::PlaceId;
use crate::tile::{TileCoord, lat_of, lon_of, mercator_x, mercator_y};

/// Lowest zoom with labels (all of Europe in view).
pub const MIN_LABEL_ZOOM: u8 = 3;
/// Highest zoom whose labels are placed; higher zooms show the same labels.
pub const MAX_LABEL_ZOOM: u8 = 14;

/// The label box, in pixels, as the page draws it (web/labels.js and style.css): a dot on
/// the place, the name to its right in a 12 px font (13 px bold for capitals).
pub const DOT_PX: f64 = 5.0;
const GAP_PX: f64 = 4.0;
const CHAR_PX: f64 = 7.5;
const CAPITAL_CHAR_PX: f64 = 8.5;
const HEIGHT_PX: f64 = 18.0;
/// Space kept free around each label.
const MARGIN_PX: f64 = 3.0;

/// Smallest population labelled at a zoom (capitals are labelled from the lowest zoom).
fn min_population(z: u8) -> u32 {
    match z {
        0..=3 => 1_000_000,
        4 => 500_000,
        5 => 250_000,
        6 => 100_000,
        7 => 50_000,
        8 => 20_000,
        9 => 10_000,
        10 => 5_000,
        11 => 2_500,
        _ => 0,
    }
}

/// The box a label covers at zoom `z`, in world pixels: [left, top, right, bottom].
fn label_box(place: &Place, unit: (f64, f64), z: u8) -> [f64; 4] {
    let size = 256.0 * f64::from(1u32 << z);
    let (x, y) = (unit.0 * size, unit.1 * size);
    let per_char = if place.capital {
        CAPITAL_CHAR_PX
    } else {
        CHAR_PX
    };
    let width = DOT_PX + GAP_PX + per_char * place.name.chars().count() as f64;
    [
        x - DOT_PX / 2.0 - MARGIN_PX,
        y - HEIGHT_PX / 2.0 - MARGIN_PX,
        x - DOT_PX / 2.0 + width + MARGIN_PX,
        y + HEIGHT_PX / 2.0 + MARGIN_PX,
    ]
}

/// Boxes already placed at one zoom, bucketed by grid cell for the overlap test.
struct Placed {
    cells: HashMap<(i64, i64), Vec<[f64; 4]>>,
}

const CELL_PX: f64 = 128.0;

impl Placed {
    fn cells_of(b: &[f64; 4]) -> impl Iterator<Item = (i64, i64)> {
        let (x0, y0) = (
            (b[0] / CELL_PX).floor() as i64,
            (b[1] / CELL_PX).floor() as i64,
        );
        let (x1, y1) = (
            (b[2] / CELL_PX).floor() as i64,
            (b[3] / CELL_PX).floor() as i64,
        );
        (x0..=x1).flat_map(move |x| (y0..=y1).map(move |y| (x, y)))
    }

    fn is_free(&self, b: &[f64; 4]) -> bool {
        Self::cells_of(b).all(|cell| {
            self.cells.get(&cell).is_none_or(|boxes| {
                boxes
                    .iter()
                    .all(|o| o[2] <= b[0] || b[2] <= o[0] || o[3] <= b[1] || b[3] <= o[1])
            })
        })
    }

    fn insert(&mut self, b: [f64; 4]) {
        for cell in Self::cells_of(&b) {
            self.cells.entry(cell).or_default().push(b);
        }
    }
}

type Labelled = GeomWithData<[f64; 2], PlaceId>;

/// The places labelled at each zoom, each in the R-tree of the zoom it first appears at.
pub struct Labels {
    /// `by_zoom[z - MIN_LABEL_ZOOM]`: the places first labelled at zoom z.
    by_zoom: Vec<RTree<Labelled>>,
}

impl Labels {
    /// Places the labels of `places` (those marked `labelled`), most important first:
    /// capitals, then by population. A label once placed stays at every higher zoom (the
    /// distances between places only grow), so each zoom starts from the one below.
    pub fn new(places: &[Place]) -> Labels {
        let mut order: Vec<PlaceId> = (0..places.len() as PlaceId)
            .filter(|&p| places[p as usize].labelled)
            .collect();
        order.sort_by_key(|&p| {
            let place = &places[p as usize];
            (
                !place.capital,
                std::cmp::Reverse(place.population.unwrap_or(0)),
                p,
            )
        });
        let mut first_zoom: Vec<Option<u8>> = vec![None; places.len()];
        // Web Mercator in [0, 1], projected once for every zoom.
        let unit: Vec<(f64, f64)> = places
            .iter()
            .map(|p| (mercator_x(p.location.lon), mercator_y(p.location.lat)))
            .collect();
        for z in MIN_LABEL_ZOOM..=MAX_LABEL_ZOOM {
            let mut placed = Placed {
                cells: HashMap::new(),
            };
            for &p in &order {
                if first_zoom[p as usize].is_some() {
                    placed.insert(label_box(&places[p as usize], unit[p as usize], z));
                }
            }
            for &p in &order {
                let place = &places[p as usize];
                let eligible = place.capital || place.population.unwrap_or(0) >= min_population(z);
                if first_zoom[p as usize].is_some() || !eligible {
                    continue;
                }
                let b = label_box(place, unit[p as usize], z);
                if placed.is_free(&b) {
                    placed.insert(b);
                    first_zoom[p as usize] = Some(z);
                }
            }
        }
        let mut buckets: Vec<Vec<Labelled>> =
            vec![Vec::new(); usize::from(MAX_LABEL_ZOOM - MIN_LABEL_ZOOM) + 1];
        for (p, z) in first_zoom.iter().enumerate() {
            if let Some(z) = z {
                let at = &places[p].location;
                buckets[usize::from(z - MIN_LABEL_ZOOM)]
                    .push(Labelled::new([at.lon, at.lat], p as PlaceId));
            }
        }
        Labels {
            by_zoom: buckets.into_iter().map(RTree::bulk_load).collect(),
        }
    }

    /// The places labelled in `tile` (by their position), most important first.
    pub fn in_tile(&self, tile: TileCoord) -> Vec<PlaceId> {
        if tile.z < MIN_LABEL_ZOOM {
            return Vec::new();
        }
        let n = f64::from(1u32 << tile.z);
        let west = lon_of(f64::from(tile.x) / n);
        let east = lon_of(f64::from(tile.x + 1) / n);
        let north = lat_of(f64::from(tile.y) / n);
        let south = lat_of(f64::from(tile.y + 1) / n);
        let area = AABB::from_corners([west, south], [east, north]);
        let top = usize::from(tile.z.min(MAX_LABEL_ZOOM) - MIN_LABEL_ZOOM);
        let mut found = Vec::new();
        for tree in &self.by_zoom[..=top] {
            // A point on the tile's east or south edge belongs to the next tile.
            found.extend(
                tree.locate_in_envelope(area)
                    .filter(|e| e.geom()[0] < east && e.geom()[1] > south)
                    .map(|e| e.data),
            );
        }
        found
    }

    /// The zoom from which place `p` is labelled, if it ever is (for tests and tools).
    pub fn first_zoom(&self, p: PlaceId) -> Option<u8> {
        self.by_zoom
            .iter()
            .position(|tree| tree.iter().any(|e| e.data == p))
            .map(|i| MIN_LABEL_ZOOM + i as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Location;
    use crate::places::PlaceKind;
    use crate::tile::tile_of;

    fn city(name: &str, lon: f64, lat: f64, population: u32, capital: bool) -> Place {
        Place {
            id: name.into(),
            name: name.into(),
            country: "EE".into(),
            kind: PlaceKind::City,
            population: Some(population),
            location: Location { lon, lat },
            bbox: None,
            capital,
            labelled: true,
        }
    }

    #[test]
    fn capitals_first_then_more_as_one_zooms_in_without_overlaps() {
        let places = vec![
            city("Tallinn", 24.75, 59.44, 400_000, true),
            city("Tartu", 26.72, 58.38, 100_000, false),
            // 3 km from Tartu: overlaps it until zoomed far in.
            city("Ülenurme", 26.72, 58.35, 2_000, false),
            city("Village", 26.0, 58.0, 900, false),
        ];
        let labels = Labels::new(&places);
        assert_eq!(labels.first_zoom(0), Some(MIN_LABEL_ZOOM));
        assert_eq!(labels.first_zoom(1), Some(6));
        let near = labels.first_zoom(2).unwrap();
        assert!(near >= 11, "the close neighbour waits until zoom {near}");
        assert_eq!(labels.first_zoom(3), Some(12));
        for z in MIN_LABEL_ZOOM..=MAX_LABEL_ZOOM {
            let shown: Vec<&Place> = (0..places.len())
                .filter(|&p| labels.first_zoom(p as PlaceId).is_some_and(|f| f <= z))
                .map(|p| &places[p])
                .collect();
            for (i, a) in shown.iter().enumerate() {
                for b in &shown[i + 1..] {
                    let unit = |c: &Place| (mercator_x(c.location.lon), mercator_y(c.location.lat));
                    let (p, q) = (label_box(a, unit(a), z), label_box(b, unit(b), z));
                    let apart = p[2] <= q[0] || q[2] <= p[0] || p[3] <= q[1] || q[3] <= p[1];
                    assert!(apart, "{} and {} overlap at zoom {z}", a.name, b.name);
                }
            }
        }
        // The tile holding Tartu lists it from zoom 6 on, not before.
        let tile = |z| tile_of(26.72, 58.38, z);
        assert!(!labels.in_tile(tile(5)).contains(&1));
        assert!(labels.in_tile(tile(6)).contains(&1));
        assert!(labels.in_tile(tile(18)).contains(&1));
        assert!(labels.in_tile(tile_of(0.0, 0.0, 6)).is_empty());
        assert!(labels.in_tile(tile(2)).is_empty());
    }
}
