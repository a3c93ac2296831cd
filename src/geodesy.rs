//! Distances on the sphere and longitude/latitude boxes, including boxes across the antimeridian.

use geo::{Distance, Haversine, Point};

use crate::model::Location;

/// Radius of the sphere used for every distance, in metres (GRS80 mean radius, as `geo` uses).
pub fn earth_radius_m() -> f64 {
    Haversine.radius()
}

/// Half the circumference: no two points on the sphere are farther apart.
pub fn max_distance_m() -> f64 {
    std::f64::consts::PI * earth_radius_m()
}

/// Great-circle distance in metres.
pub fn distance_m(a: Location, b: Location) -> f64 {
    Haversine.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

/// The points within a great-circle radius of a centre. Membership compares the haversine of
/// the central angle, computed from unit vectors, with a threshold, so that only the points
/// inside need the inverse trigonometry of a distance.
#[derive(Clone, Copy, Debug)]
pub struct Cap {
    unit0: [f64; 3],
    max_haversine: f64,
}

/// A position as a point on the unit sphere.
pub fn unit_vector(at: Location) -> [f64; 3] {
    let (lon, lat) = (at.lon.to_radians(), at.lat.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

impl Cap {
    pub fn new(center: Location, radius_m: f64) -> Cap {
        let half_angle =
            (radius_m / earth_radius_m() / 2.0).clamp(0.0, std::f64::consts::FRAC_PI_2);
        Cap {
            unit0: unit_vector(center),
            max_haversine: half_angle.sin().powi(2),
        }
    }

    /// The haversine of the central angle (sin² of its half: 0 at the centre, 1 at the
    /// antipode) to a point given as its [`unit_vector`]: the squared chord over four, the
    /// quantity `geo`'s haversine formula computes from angles, here without trigonometry.
    pub fn haversine_of_unit(&self, unit: [f64; 3]) -> f64 {
        let [dx, dy, dz] = [
            unit[0] - self.unit0[0],
            unit[1] - self.unit0[1],
            unit[2] - self.unit0[2],
        ];
        (dx * dx + dy * dy + dz * dz) / 4.0
    }

    /// The distance in metres for a value of [`Cap::haversine_of_unit`], or `None` outside the cap.
    pub fn distance_m(&self, haversine: f64) -> Option<f64> {
        (haversine <= self.max_haversine)
            .then(|| 2.0 * earth_radius_m() * haversine.sqrt().min(1.0).asin())
    }
}

/// A longitude/latitude box. `west > east` means the box crosses the antimeridian.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LonLatBox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl LonLatBox {
    pub const WORLD: LonLatBox = LonLatBox {
        west: -180.0,
        south: -90.0,
        east: 180.0,
        north: 90.0,
    };

    pub fn crosses_antimeridian(&self) -> bool {
        self.west > self.east
    }

    /// The box as one or two boxes that do not cross the antimeridian, as `[min, max]` corners.
    pub fn parts(&self) -> Vec<[[f64; 2]; 2]> {
        if self.crosses_antimeridian() {
            vec![
                [[self.west, self.south], [180.0, self.north]],
                [[-180.0, self.south], [self.east, self.north]],
            ]
        } else {
            vec![[[self.west, self.south], [self.east, self.north]]]
        }
    }

    pub fn contains(&self, at: Location) -> bool {
        let lat_ok = at.lat >= self.south && at.lat <= self.north;
        let lon_ok = if self.crosses_antimeridian() {
            at.lon >= self.west || at.lon <= self.east
        } else {
            at.lon >= self.west && at.lon <= self.east
        };
        lat_ok && lon_ok
    }
}

/// Slack added to a radius's box so that rounding in the trigonometry never drops a point
/// that the exact distance test would keep (1e-7 degrees is about a centimetre).
const BOX_SLACK_DEG: f64 = 1e-7;

/// The smallest longitude/latitude box holding every point within `radius_m` of `center`.
pub fn radius_box(center: Location, radius_m: f64) -> LonLatBox {
    let angle = radius_m / earth_radius_m();
    if angle >= std::f64::consts::PI {
        return LonLatBox::WORLD;
    }
    let angle_deg = angle.to_degrees() + BOX_SLACK_DEG;
    let south = center.lat - angle_deg;
    let north = center.lat + angle_deg;
    if south <= -90.0 || north >= 90.0 {
        // The cap holds a pole, so it spans every longitude.
        return LonLatBox {
            west: -180.0,
            south: south.max(-90.0),
            east: 180.0,
            north: north.min(90.0),
        };
    }
    // Away from the poles, the widest longitude of a spherical cap is asin(sin r / cos lat).
    let half_width = (angle.sin() / center.lat.to_radians().cos())
        .clamp(-1.0, 1.0)
        .asin()
        .to_degrees()
        + BOX_SLACK_DEG;
    if half_width >= 180.0 {
        return LonLatBox {
            west: -180.0,
            south,
            east: 180.0,
            north,
        };
    }
    LonLatBox {
        west: wrap_lon(center.lon - half_width),
        south,
        east: wrap_lon(center.lon + half_width),
        north,
    }
}

/// Brings a longitude back into [-180, 180].
fn wrap_lon(lon: f64) -> f64 {
    if lon < -180.0 {
        lon + 360.0
    } else if lon > 180.0 {
        lon - 360.0
    } else {
        lon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lon: f64, lat: f64) -> Location {
        Location { lon, lat }
    }

    #[test]
    fn distances_match_known_values() {
        let sofia = at(23.319941, 42.698334);
        let plovdiv = at(24.742168, 42.136097);
        assert!((distance_m(sofia, plovdiv) - 132_433.1).abs() < 1.0);
        assert_eq!(distance_m(sofia, sofia), 0.0);
    }

    #[test]
    fn caps_agree_with_the_haversine_distance() {
        let center = at(13.4, 52.5);
        let cap = Cap::new(center, 100_000.0);
        for (lon, lat) in [
            (13.4, 52.5),
            (14.0, 52.9),
            (15.0, 52.5),
            (13.4, 53.4),
            (-170.0, -52.5),
        ] {
            let exact = distance_m(center, at(lon, lat));
            match cap.distance_m(cap.haversine_of_unit(unit_vector(at(lon, lat)))) {
                Some(d) => assert!(
                    exact <= 100_000.0 + 1e-6 && (d - exact).abs() < 1e-6,
                    "{lon},{lat}"
                ),
                None => assert!(exact > 100_000.0 - 1e-6, "{lon},{lat}"),
            }
        }
        let everything = Cap::new(center, 1e9);
        let antipode = unit_vector(at(-166.6, -52.5));
        assert!(
            everything
                .distance_m(everything.haversine_of_unit(antipode))
                .is_some()
        );
        // The centre itself is inside a cap of radius zero.
        let point = Cap::new(center, 0.0);
        assert_eq!(
            point.distance_m(point.haversine_of_unit(unit_vector(center))),
            Some(0.0)
        );
    }

    #[test]
    fn radius_box_contains_the_circle_edge() {
        for (lon, lat) in [(13.4, 52.5), (179.9, 10.0), (-179.95, -60.0), (0.0, 0.0)] {
            let center = at(lon, lat);
            let radius = 250_000.0;
            let b = radius_box(center, radius);
            for bearing in 0..360 {
                let edge = geo::Destination::destination(
                    &Haversine,
                    Point::new(lon, lat),
                    f64::from(bearing),
                    radius * 0.999_999,
                );
                assert!(
                    b.contains(at(edge.x(), edge.y())),
                    "{lon},{lat} bearing {bearing}"
                );
            }
        }
    }

    #[test]
    fn radius_box_wraps_at_the_antimeridian_and_poles() {
        let b = radius_box(at(179.9, 0.0), 50_000.0);
        assert!(b.crosses_antimeridian());
        assert_eq!(b.parts().len(), 2);
        let polar = radius_box(at(0.0, 89.9), 50_000.0);
        assert_eq!((polar.west, polar.east, polar.north), (-180.0, 180.0, 90.0));
        assert_eq!(radius_box(at(0.0, 0.0), 3.0e7), LonLatBox::WORLD);
    }

    #[test]
    fn boxes_across_the_antimeridian_contain_both_sides() {
        let b = LonLatBox {
            west: 170.0,
            south: -10.0,
            east: -170.0,
            north: 10.0,
        };
        assert!(b.contains(at(175.0, 0.0)));
        assert!(b.contains(at(-175.0, 0.0)));
        assert!(!b.contains(at(0.0, 0.0)));
    }
}
