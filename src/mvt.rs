//! Mapbox Vector Tiles 2.1: a tile's points and their properties encoded as the spec's
//! protocol buffer (one layer, point features, deduplicated keys and values).
//!
//! Written here: the part of protobuf a tile needs (varints, zigzag, length-delimited
//! fields) is a few dozen lines, smaller than a code generator and its build step.

use std::collections::HashMap;

/// Tile-local units across a tile, as MVT clients expect by default.
pub const EXTENT: u32 = 4096;

/// A property value of a feature.
#[derive(Clone, Debug, PartialEq)]
pub enum Property {
    Text(String),
    Uint(u64),
    Bool(bool),
}

/// One point feature in tile-local coordinates (0..=EXTENT, y down).
#[derive(Clone, Debug, PartialEq)]
pub struct PointFeature {
    pub x: i64,
    pub y: i64,
    pub properties: Vec<(&'static str, Property)>,
}

/// Encodes one layer named `name` of `features` as a whole tile.
pub fn encode_tile(name: &str, features: &[PointFeature]) -> Vec<u8> {
    let mut keys: Vec<&str> = Vec::new();
    let mut key_index: HashMap<&str, u32> = HashMap::new();
    let mut values: Vec<&Property> = Vec::new();
    let mut value_index: HashMap<ValueKey, u32> = HashMap::new();
    let mut layer = Vec::new();
    // Field order as the spec's .proto numbers them does not matter to decoders, but the
    // version comes first in every encoder seen, so readers that peek find it.
    put_varint_field(&mut layer, 15, 2);
    put_bytes_field(&mut layer, 1, name.as_bytes());
    for feature in features {
        let mut tags = Vec::new();
        for (key, value) in &feature.properties {
            let k = *key_index.entry(key).or_insert_with(|| {
                keys.push(key);
                keys.len() as u32 - 1
            });
            let v = *value_index.entry(ValueKey::of(value)).or_insert_with(|| {
                values.push(value);
                values.len() as u32 - 1
            });
            put_varint(&mut tags, u64::from(k));
            put_varint(&mut tags, u64::from(v));
        }
        let mut geometry = Vec::new();
        // MoveTo (command id 1) repeated once (count 1 in the upper bits), relative to the origin.
        put_varint(&mut geometry, 1 | (1 << 3));
        put_varint(&mut geometry, zigzag(feature.x));
        put_varint(&mut geometry, zigzag(feature.y));
        let mut message = Vec::new();
        put_bytes_field(&mut message, 2, &tags);
        put_varint_field(&mut message, 3, 1); // GeomType POINT
        put_bytes_field(&mut message, 4, &geometry);
        put_bytes_field(&mut layer, 2, &message);
    }
    for key in keys {
        put_bytes_field(&mut layer, 3, key.as_bytes());
    }
    for value in values {
        let mut message = Vec::new();
        match value {
            Property::Text(s) => put_bytes_field(&mut message, 1, s.as_bytes()),
            Property::Uint(n) => put_varint_field(&mut message, 5, *n),
            Property::Bool(b) => put_varint_field(&mut message, 7, u64::from(*b)),
        }
        put_bytes_field(&mut layer, 4, &message);
    }
    put_varint_field(&mut layer, 5, u64::from(EXTENT));
    let mut tile = Vec::with_capacity(layer.len() + 8);
    put_bytes_field(&mut tile, 3, &layer);
    tile
}

/// A value as a hash key (the text of a value is its identity; kinds kept apart).
#[derive(Hash, PartialEq, Eq)]
enum ValueKey {
    Text(String),
    Uint(u64),
    Bool(bool),
}

impl ValueKey {
    fn of(value: &Property) -> ValueKey {
        match value {
            Property::Text(s) => ValueKey::Text(s.clone()),
            Property::Uint(n) => ValueKey::Uint(*n),
            Property::Bool(b) => ValueKey::Bool(*b),
        }
    }
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    put_varint(out, field << 3);
    put_varint(out, value);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
pub mod decode {
    //! A minimal reader of what [`encode_tile`] writes, for tests.

    use super::Property;

    fn varint(bytes: &[u8], at: &mut usize) -> u64 {
        let (mut n, mut shift) = (0u64, 0);
        loop {
            let b = bytes[*at];
            *at += 1;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    /// The fields of one message: (number, varint or bytes).
    fn fields(bytes: &[u8]) -> Vec<(u64, Result<u64, &[u8]>)> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < bytes.len() {
            let key = varint(bytes, &mut at);
            match key & 7 {
                0 => out.push((key >> 3, Ok(varint(bytes, &mut at)))),
                2 => {
                    let len = varint(bytes, &mut at) as usize;
                    out.push((key >> 3, Err(&bytes[at..at + len])));
                    at += len;
                }
                other => panic!("wire type {other}"),
            }
        }
        out
    }

    /// Layer name, extent, and each feature's point and properties.
    #[allow(clippy::type_complexity)]
    pub fn tile(bytes: &[u8]) -> (String, u64, Vec<((i64, i64), Vec<(String, Property)>)>) {
        let layer = fields(bytes)
            .into_iter()
            .find(|f| f.0 == 3)
            .unwrap()
            .1
            .unwrap_err();
        let layer = fields(layer);
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        let name = layer
            .iter()
            .find(|f| f.0 == 1)
            .map(|f| text(f.1.unwrap_err()))
            .unwrap();
        let extent = layer
            .iter()
            .find(|f| f.0 == 5)
            .map(|f| f.1.unwrap())
            .unwrap();
        let keys: Vec<String> = layer
            .iter()
            .filter(|f| f.0 == 3)
            .map(|f| text(f.1.unwrap_err()))
            .collect();
        let values: Vec<Property> = layer
            .iter()
            .filter(|f| f.0 == 4)
            .map(|f| match fields(f.1.unwrap_err())[0] {
                (1, Err(b)) => Property::Text(text(b)),
                (5, Ok(n)) => Property::Uint(n),
                (7, Ok(b)) => Property::Bool(b != 0),
                ref other => panic!("{other:?}"),
            })
            .collect();
        let unzig = |n: u64| ((n >> 1) as i64) ^ -((n & 1) as i64);
        let features = layer
            .iter()
            .filter(|f| f.0 == 2)
            .map(|f| {
                let parts = fields(f.1.unwrap_err());
                let packed = |n: u64| {
                    let b = parts.iter().find(|p| p.0 == n).unwrap().1.unwrap_err();
                    let mut at = 0;
                    let mut out = Vec::new();
                    while at < b.len() {
                        out.push(varint(b, &mut at));
                    }
                    out
                };
                let g = packed(4);
                assert_eq!(g[0], 9, "one MoveTo");
                let tags = packed(2);
                let props = tags
                    .chunks(2)
                    .map(|kv| (keys[kv[0] as usize].clone(), values[kv[1] as usize].clone()))
                    .collect();
                ((unzig(g[1]), unzig(g[2])), props)
            })
            .collect();
        (name, extent, features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_round_trips() {
        let features = vec![
            PointFeature {
                x: 0,
                y: 4096,
                properties: vec![
                    ("cluster", Property::Bool(true)),
                    ("point_count", Property::Uint(300)),
                ],
            },
            PointFeature {
                x: 17,
                y: 5,
                properties: vec![
                    ("cluster", Property::Bool(false)),
                    ("name", Property::Text("Łódź hub".into())),
                ],
            },
        ];
        let bytes = encode_tile("initiatives", &features);
        let (name, extent, decoded) = decode::tile(&bytes);
        assert_eq!((name.as_str(), extent), ("initiatives", 4096));
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[0].0, (0, 4096));
        assert_eq!(
            decoded[1].1[1],
            ("name".into(), Property::Text("Łódź hub".into()))
        );
        assert_eq!(decoded[0].1[1], ("point_count".into(), Property::Uint(300)));
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        // An empty tile is still a tile with its layer.
        assert_eq!(decode::tile(&encode_tile("initiatives", &[])).2.len(), 0);
    }
}
