//! Geometry literals of filters and the spatial relations of a point (every initiative's
//! geometry) to them, with the box a relation confines its matches to (for the R-tree).

use geo::{BoundingRect, Contains, Coord, CoordsIter, Geometry, Intersects, Point, Rect, Relate};

use super::ast::SpatialOp;
use crate::geodesy::LonLatBox;

/// `BBOX(west, south, east, north)` (or the six-number 3D form) as a geometry; west > east
/// crosses the antimeridian and gives two boxes.
pub fn bbox(numbers: &[f64]) -> Result<Geometry, String> {
    let (west, south, east, north) = match *numbers {
        [w, s, e, n] | [w, s, _, e, n, _] => (w, s, e, n),
        _ => return Err(format!("BBOX needs 4 or 6 numbers, got {}", numbers.len())),
    };
    if south > north {
        return Err(format!(
            "BBOX's south {south} is greater than its north {north}"
        ));
    }
    let rect =
        |w: f64, e: f64| Rect::new(Coord { x: w, y: south }, Coord { x: e, y: north }).to_polygon();
    let geometry = if west <= east {
        Geometry::Polygon(rect(west, east))
    } else {
        Geometry::MultiPolygon(geo::MultiPolygon(vec![
            rect(west, 180.0),
            rect(-180.0, east),
        ]))
    };
    check(&geometry)?;
    Ok(geometry)
}

/// Refuses coordinates outside WGS 84's range (the only CRS accepted) and empty parts.
pub fn check(geometry: &Geometry) -> Result<(), String> {
    for c in geometry.coords_iter() {
        if !(c.x.is_finite() && (-180.0..=180.0).contains(&c.x)) {
            return Err(format!("longitude {} is out of range [-180, 180]", c.x));
        }
        if !(c.y.is_finite() && (-90.0..=90.0).contains(&c.y)) {
            return Err(format!("latitude {} is out of range [-90, 90]", c.y));
        }
    }
    let rings_closed = |p: &geo::Polygon| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .all(|r| r.0.len() >= 4 && r.0.first() == r.0.last())
    };
    let ok = match geometry {
        Geometry::LineString(l) => l.0.len() >= 2,
        Geometry::Polygon(p) => rings_closed(p),
        Geometry::MultiPolygon(m) => m.0.iter().all(rings_closed),
        Geometry::MultiLineString(m) => m.0.iter().all(|l| l.0.len() >= 2),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err("a line needs 2 positions, a polygon's ring 4 with the last equal to the first".into())
    }
}

/// A geometry literal prepared for testing many points against it.
#[derive(Clone, Debug)]
pub struct Shape {
    geometry: Geometry,
    bounds: Option<Rect>,
    /// True when the shape is its own bounding box (a `BBOX`, or a polygon drawn as one):
    /// intersection and containment are then comparisons of coordinates.
    is_box: bool,
}

impl Shape {
    pub fn new(geometry: Geometry) -> Shape {
        let bounds = geometry.bounding_rect();
        let is_box = match (&geometry, bounds) {
            (Geometry::Polygon(p), Some(r)) => {
                p.interiors().is_empty()
                    && p.exterior().0.len() == 5
                    && p.exterior().0.iter().all(|c| {
                        (c.x == r.min().x || c.x == r.max().x)
                            && (c.y == r.min().y || c.y == r.max().y)
                    })
                    && r.width() > 0.0
                    && r.height() > 0.0
            }
            _ => false,
        };
        Shape {
            geometry,
            bounds,
            is_box,
        }
    }

    /// The box every point in relation `op` to the shape lies in, if the relation has one
    /// (all but disjointness need the point to touch the shape).
    pub fn bound(&self, op: SpatialOp) -> Option<LonLatBox> {
        if op == SpatialOp::Disjoint {
            return None;
        }
        // An empty shape (no coordinates) meets nothing: an empty box somewhere harmless.
        let rect = self.bounds.unwrap_or(Rect::new(
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 0.0, y: 0.0 },
        ));
        Some(LonLatBox {
            west: rect.min().x,
            south: rect.min().y,
            east: rect.max().x,
            north: rect.max().y,
        })
    }

    /// Whether `point` stands in relation `op` to the shape (`point op shape`).
    pub fn relates(&self, point: Point, op: SpatialOp) -> bool {
        let near = self.bounds.is_some_and(|r| r.intersects(&point));
        if self.is_box
            && let Some(r) = self.bounds
        {
            let inside = point.x() > r.min().x
                && point.x() < r.max().x
                && point.y() > r.min().y
                && point.y() < r.max().y;
            match op {
                SpatialOp::Intersects => return near,
                SpatialOp::Disjoint => return !near,
                SpatialOp::Within => return inside,
                SpatialOp::Touches => return near && !inside,
                _ => {}
            }
        }
        match op {
            SpatialOp::Intersects => near && self.geometry.intersects(&point),
            SpatialOp::Disjoint => !(near && self.geometry.intersects(&point)),
            // A point is within a shape when it lies in its interior: what `contains` tests.
            SpatialOp::Within => near && self.geometry.contains(&point),
            _ if !near => false,
            _ => {
                let matrix = point.relate(&self.geometry);
                match op {
                    SpatialOp::Contains => matrix.is_contains(),
                    SpatialOp::Equals => matrix.is_equal_topo(),
                    SpatialOp::Touches => matrix.is_touches(),
                    SpatialOp::Crosses => matrix.is_crosses(),
                    SpatialOp::Overlaps => matrix.is_overlaps(),
                    _ => unreachable!("handled above"),
                }
            }
        }
    }
}

/// The relation seen from the other side: `a op b` is `b op' a`.
pub fn converse(op: SpatialOp) -> SpatialOp {
    match op {
        SpatialOp::Within => SpatialOp::Contains,
        SpatialOp::Contains => SpatialOp::Within,
        symmetric => symmetric,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Shape {
        Shape::new(bbox(&[0.0, 0.0, 10.0, 10.0]).unwrap())
    }

    #[test]
    fn a_point_relates_to_a_polygon_as_de9im_says() {
        let inside = Point::new(5.0, 5.0);
        let edge = Point::new(0.0, 5.0);
        let outside = Point::new(11.0, 5.0);
        let s = square();
        assert!(s.relates(inside, SpatialOp::Intersects) && s.relates(inside, SpatialOp::Within));
        assert!(s.relates(edge, SpatialOp::Intersects) && !s.relates(edge, SpatialOp::Within));
        assert!(s.relates(edge, SpatialOp::Touches) && !s.relates(inside, SpatialOp::Touches));
        assert!(
            s.relates(outside, SpatialOp::Disjoint) && !s.relates(outside, SpatialOp::Intersects)
        );
        assert!(!s.relates(inside, SpatialOp::Contains) && !s.relates(inside, SpatialOp::Equals));
        let point = Shape::new(Geometry::Point(inside));
        assert!(
            point.relates(inside, SpatialOp::Equals) && point.relates(inside, SpatialOp::Contains)
        );
    }

    #[test]
    fn a_box_answers_as_its_polygon() {
        let fast = square();
        let polygon = geo::Polygon::new(
            geo::LineString::from(vec![
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 10.0),
                (0.0, 10.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        // The same polygon with a sixth, redundant vertex is not taken as a box.
        let slow = Shape::new(Geometry::Polygon(geo::Polygon::new(
            geo::LineString::from(vec![
                (0.0, 0.0),
                (5.0, 0.0),
                (10.0, 0.0),
                (10.0, 10.0),
                (0.0, 10.0),
                (0.0, 0.0),
            ]),
            vec![],
        )));
        assert!(fast.is_box && !slow.is_box && Shape::new(Geometry::Polygon(polygon)).is_box);
        for (x, y) in [
            (5.0, 5.0),
            (0.0, 5.0),
            (10.0, 10.0),
            (11.0, 5.0),
            (5.0, -0.1),
        ] {
            let p = Point::new(x, y);
            for op in [
                SpatialOp::Intersects,
                SpatialOp::Disjoint,
                SpatialOp::Within,
                SpatialOp::Touches,
            ] {
                assert_eq!(fast.relates(p, op), slow.relates(p, op), "{op:?} {x} {y}");
            }
        }
    }

    #[test]
    fn boxes_across_the_antimeridian_and_bad_coordinates() {
        let across = Shape::new(bbox(&[170.0, -10.0, -170.0, 10.0]).unwrap());
        assert!(across.relates(Point::new(179.0, 0.0), SpatialOp::Intersects));
        assert!(across.relates(Point::new(-179.0, 0.0), SpatialOp::Intersects));
        assert!(!across.relates(Point::new(0.0, 0.0), SpatialOp::Intersects));
        assert!(bbox(&[0.0, 10.0, 1.0, 5.0]).is_err());
        assert!(bbox(&[0.0, 0.0, 1.0]).is_err());
        assert!(bbox(&[0.0, 0.0, 200.0, 1.0]).is_err());
    }
}
