//! Reading a GeoJSON FeatureCollection one feature at a time, so that a feed of any size
//! needs memory for one feature (and a batch), never for the whole document.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::source::{Emit, Record, STOPPED, Unreadable};

/// What a collection's members said, as they went by; its features went to `emit`.
pub struct Collection<'a, 'e> {
    page: usize,
    emit: &'a mut Emit<'e>,
    kind: Option<Value>,
    links: Option<Value>,
    features: bool,
}

impl<'a, 'e> Collection<'a, 'e> {
    pub fn new(page: usize, emit: &'a mut Emit<'e>) -> Self {
        Collection {
            page,
            emit,
            kind: None,
            links: None,
            features: false,
        }
    }

    pub fn is_collection(&self) -> bool {
        self.kind.as_ref().and_then(Value::as_str) == Some("FeatureCollection")
    }

    pub fn had_features(&self) -> bool {
        self.features
    }

    /// The `links` member (OGC API items pages link their `next` page there).
    pub fn links(&self) -> Option<&Value> {
        self.links.as_ref()
    }

    fn position(&self, n: usize) -> String {
        if self.page > 1 {
            format!("feature {n} (page {})", self.page)
        } else {
            format!("feature {n}")
        }
    }
}

impl<'de> Visitor<'de> for &mut Collection<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    let kind: Value = map.next_value()?;
                    // Told early, before any record of something else is handed on.
                    if kind.as_str() != Some("FeatureCollection") {
                        return Err(de::Error::custom("not a GeoJSON FeatureCollection"));
                    }
                    self.kind = Some(kind);
                }
                "links" => self.links = Some(map.next_value()?),
                "features" => {
                    map.next_value_seed(Features(&mut *self))?;
                    self.features = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `features` array, each element handed on as it is read.
struct Features<'c, 'a, 'e>(&'c mut Collection<'a, 'e>);

impl<'de> DeserializeSeed<'de> for Features<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"features\" to be an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(feature) = seq.next_element::<Value>()? {
            let record = record(feature, self.0.position(n));
            if !(self.0.emit)(record) {
                return Err(de::Error::custom(STOPPED));
            }
            n += 1;
        }
        Ok(())
    }
}

fn record(feature: Value, position: String) -> Result<Record, Unreadable> {
    let Value::Object(mut object) = feature else {
        return Err(Unreadable {
            position,
            reason: "not a JSON object".into(),
        });
    };
    Ok(Record {
        position,
        feature_id: object.remove("id"),
        geometry: object.remove("geometry"),
        properties: match object.remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        },
    })
}
