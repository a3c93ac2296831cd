//! Initiatives written as GeoJSON Features, the same shape the dataset files use.

use serde::Serialize;

use crate::cluster::ClusterSummary;
use crate::country::Country;
use crate::model::{
    Initiative, Kind, Language, LocationPrecision, SkillArea, Status, TargetGroup, TermSet,
};
use crate::records::InitiativeRef;
use crate::regions::code::NutsCode;

/// An initiative as a GeoJSON Feature, its id the Feature's own `id` member.
#[derive(Serialize)]
pub struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: PointGeometry,
    properties: Properties<'a>,
}

#[derive(Serialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
struct Properties<'a> {
    name: &'a str,
    description: &'a str,
    organisation: &'a str,
    url: &'a str,
    country: Country,
    city: &'a str,
    skill_areas: TermSet<SkillArea>,
    target_groups: TermSet<TargetGroup>,
    kind: Kind,
    languages: &'a [Language],
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<jiff::civil::Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<jiff::civil::Date>,
    updated_at: jiff::Timestamp,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_at: Option<jiff::civil::Date>,
    status: Status,
    location_precision: LocationPrecision,
    /// The NUTS regions (levels 1–3) the initiative lies in, assigned from its position.
    #[serde(skip_serializing_if = "Option::is_none")]
    nuts1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nuts2: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nuts3: Option<&'a str>,
    /// Great-circle metres from the query point, on distance queries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_m: Option<f64>,
}

impl<'a> Feature<'a> {
    pub fn new(initiative: &'a Initiative) -> Self {
        Feature::from_ref(initiative.as_ref())
    }

    /// The Feature of a record wherever it is stored.
    pub fn from_ref(initiative: InitiativeRef<'a>) -> Self {
        Feature {
            kind: "Feature",
            id: initiative.id,
            geometry: PointGeometry {
                kind: "Point",
                coordinates: [initiative.location.lon, initiative.location.lat],
            },
            properties: Properties {
                name: initiative.name,
                description: initiative.description,
                organisation: initiative.organisation,
                url: initiative.url,
                country: initiative.country,
                city: initiative.city,
                skill_areas: initiative.skill_areas,
                target_groups: initiative.target_groups,
                kind: initiative.kind,
                languages: initiative.languages,
                start: initiative.start,
                end: initiative.end,
                updated_at: initiative.updated_at,
                source: initiative.source,
                evidence_url: initiative.evidence_url,
                verified_at: initiative.verified_at,
                status: initiative.status,
                location_precision: initiative.location_precision,
                nuts1: None,
                nuts2: None,
                nuts3: None,
                distance_m: None,
            },
        }
    }

    /// Adds the NUTS regions the initiative lies in.
    pub fn with_nuts(mut self, code: &'a NutsCode) -> Self {
        self.properties.nuts1 = code.at_level(1);
        self.properties.nuts2 = code.at_level(2);
        self.properties.nuts3 = code.at_level(3);
        self
    }

    /// Adds the distance from the query point, rounded to the centimetre.
    pub fn with_distance(mut self, metres: f64) -> Self {
        self.properties.distance_m = Some((metres * 100.0).round() / 100.0);
        self
    }
}

/// The canonical JSON of an initiative: what the store keeps and what its ETag is taken over.
pub fn canonical_json(initiative: &Initiative) -> String {
    json_of(initiative.as_ref())
}

/// [`canonical_json`] of a record wherever it is stored.
pub fn json_of(initiative: InitiativeRef<'_>) -> String {
    // Serialising these plain fields cannot fail.
    serde_json::to_string(&Feature::from_ref(initiative)).unwrap_or_default()
}

/// An item of a map tile: a cluster with counts, or an initiative with the properties a
/// map needs (its id fetches the rest).
#[derive(Serialize)]
pub struct TileFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    geometry: PointGeometry,
    properties: TileProperties<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TileProperties<'a> {
    Cluster {
        cluster: bool,
        cluster_id: &'a str,
        point_count: u32,
        expansion_zoom: u8,
        skill_areas: std::collections::BTreeMap<&'static str, u32>,
    },
    Initiative {
        cluster: bool,
        name: &'a str,
        organisation: &'a str,
        city: &'a str,
        country: Country,
        kind: Kind,
        skill_areas: TermSet<SkillArea>,
        target_groups: TermSet<TargetGroup>,
        status: Status,
    },
}

impl<'a> TileFeature<'a> {
    pub fn cluster(cluster: &'a ClusterSummary) -> Self {
        TileFeature {
            kind: "Feature",
            id: None,
            geometry: PointGeometry {
                kind: "Point",
                coordinates: [cluster.lon, cluster.lat],
            },
            properties: TileProperties::Cluster {
                cluster: true,
                cluster_id: &cluster.id,
                point_count: cluster.count,
                expansion_zoom: cluster.expansion_zoom,
                skill_areas: cluster
                    .skill_areas
                    .iter()
                    .map(|(area, n)| (area.slug(), *n))
                    .collect(),
            },
        }
    }

    pub fn initiative(initiative: InitiativeRef<'a>) -> Self {
        TileFeature {
            kind: "Feature",
            id: Some(initiative.id),
            geometry: PointGeometry {
                kind: "Point",
                coordinates: [initiative.location.lon, initiative.location.lat],
            },
            properties: TileProperties::Initiative {
                cluster: false,
                name: initiative.name,
                organisation: initiative.organisation,
                city: initiative.city,
                country: initiative.country,
                kind: initiative.kind,
                skill_areas: initiative.skill_areas,
                target_groups: initiative.target_groups,
                status: initiative.status,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset;

    #[test]
    fn features_round_trip_through_the_dataset_reader() {
        let mut original = crate::index::tests::initiative("de-x", 13.4, 52.5);
        let json = serde_json::to_string(&Feature::new(&original)).unwrap();
        let (parsed, _) = dataset::parse_feature(&json).unwrap();
        assert_eq!(parsed, original);
        original.evidence_url = Some("https://example.org/about-x".into());
        original.verified_at = Some("2026-11-30".parse().unwrap());
        original.status = Status::Closed;
        original.location_precision = LocationPrecision::Address;
        let json = serde_json::to_string(&Feature::new(&original)).unwrap();
        let (parsed, _) = dataset::parse_feature(&json).unwrap_or_else(|e| panic!("{e:?}\n{json}"));
        assert_eq!(parsed, original);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["id"], "de-x");
        assert_eq!(value["properties"]["skill_areas"][0], "data_ai");
        assert_eq!(value["properties"]["status"], "closed");
        assert_eq!(value["properties"]["location_precision"], "address");
        assert_eq!(value["properties"]["verified_at"], "2026-11-30");
        assert_eq!(
            value["properties"]["evidence_url"],
            "https://example.org/about-x"
        );
    }
}
