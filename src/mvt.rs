//! Mapbox Vector Tiles 2.1: a tile's points and their properties encoded as the spec's
//! protocol buffer (one layer, point features, deduplicated keys and values).
//!
//! Written here: the part of protobuf a tile needs (varints, zigzag, length-delimited
//! fields) is a few dozen lines, smaller than a code generator and its build step.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Tile-local units across a tile, as MVT clients expect by default.
pub const EXTENT: u32 = 4096;

/// A property value of a feature; texts are borrowed (from the snapshot, or static), so
/// writing a feature allocates nothing per property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Property<'a> {
    Text(&'a str),
    Uint(u64),
    Bool(bool),
}

/// One layer of point features, written as they are added: each feature goes straight into
/// the layer's bytes, keys and values are deduplicated as they come, and the scratch
/// buffers are reused from feature to feature.
pub struct TileWriter<'a> {
    layer: Vec<u8>,
    /// Few and static (a dozen or so): found by a scan, cheaper than hashing them.
    keys: Vec<&'static str>,
    /// The layer's `values` messages, already encoded, in index order.
    values: Vec<u8>,
    value_index: HashMap<Property<'a>, u32, BuildHasherDefault<ValueHasher>>,
    tags: Vec<u8>,
    message: Vec<u8>,
}

impl<'a> TileWriter<'a> {
    /// A layer named `name`, sized for about `features` features.
    pub fn new(name: &str, features: usize) -> TileWriter<'a> {
        let mut layer = Vec::with_capacity(32 + features * 48);
        // Room for the tile's own header (the layer's field key and length), written in
        // front of the layer once its length is known, so the layer is never copied.
        layer.resize(TILE_HEADER, 0);
        // Field order does not matter to decoders, but the version comes first in every
        // encoder seen, so readers that peek find it.
        put_varint_field(&mut layer, 15, 2);
        put_bytes_field(&mut layer, 1, name.as_bytes());
        TileWriter {
            layer,
            keys: Vec::new(),
            values: Vec::with_capacity(features * 24),
            value_index: HashMap::with_capacity_and_hasher(features * 4, Default::default()),
            tags: Vec::new(),
            message: Vec::new(),
        }
    }

    /// Adds a point at tile-local `(x, y)` (0..=EXTENT, y down) with its properties.
    pub fn point(&mut self, x: i64, y: i64, properties: &[(&'static str, Property<'a>)]) {
        self.tags.clear();
        for (key, value) in properties {
            let k = match self.keys.iter().position(|k| k == key) {
                Some(k) => k,
                None => {
                    self.keys.push(key);
                    self.keys.len() - 1
                }
            };
            let next = self.value_index.len() as u32;
            let v = *self.value_index.entry(*value).or_insert_with(|| {
                put_value(&mut self.values, value);
                next
            });
            put_varint(&mut self.tags, k as u64);
            put_varint(&mut self.tags, u64::from(v));
        }
        // MoveTo (command id 1) repeated once (count 1 in the upper bits), relative to the origin.
        let mut geometry = [0u8; 21];
        let mut len = 0;
        for n in [1 | (1 << 3), zigzag(x), zigzag(y)] {
            len += varint_into(&mut geometry[len..], n);
        }
        self.message.clear();
        put_bytes_field(&mut self.message, 2, &self.tags);
        put_varint_field(&mut self.message, 3, 1); // GeomType POINT
        put_bytes_field(&mut self.message, 4, &geometry[..len]);
        put_bytes_field(&mut self.layer, 2, &self.message);
    }

    /// The whole tile: this one layer, its keys, values and extent.
    pub fn finish(mut self) -> Vec<u8> {
        for key in &self.keys {
            put_bytes_field(&mut self.layer, 3, key.as_bytes());
        }
        self.layer.extend_from_slice(&self.values);
        put_varint_field(&mut self.layer, 5, u64::from(EXTENT));
        let mut header = [0u8; TILE_HEADER];
        let n = varint_into(&mut header, (3 << 3) | 2);
        let n = n + varint_into(&mut header[n..], (self.layer.len() - TILE_HEADER) as u64);
        let start = TILE_HEADER - n;
        self.layer[start..TILE_HEADER].copy_from_slice(&header[..n]);
        self.layer.drain(..start);
        self.layer
    }
}

/// Bytes before a layer for the tile's field key (1) and the layer's length (at most 10).
const TILE_HEADER: usize = 11;

/// Hashes a tile's values with xxh3 (already used for the ETags): SipHash, the standard
/// maps' default, took a fifth of an MVT tile's time on these short texts. Flooding is not a
/// concern: a tile holds at most a few thousand values, all from the snapshot.
#[derive(Default)]
struct ValueHasher(u64);

impl Hasher for ValueHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    // The derived `Hash` also writes the kind of value and a text's end marker: small
    // numbers, folded in with a multiply rather than a call to xxh3 each.
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(31);
    }
}

/// Appends one `values` entry (layer field 4) holding `value`.
fn put_value(out: &mut Vec<u8>, value: &Property) {
    let mut message = [0u8; 22];
    let len = match value {
        Property::Text(s) => {
            put_varint(out, (4 << 3) | 2);
            let mut head = [0u8; 11];
            let n = varint_into(&mut head, (1 << 3) | 2);
            let n = n + varint_into(&mut head[n..], s.len() as u64);
            put_varint(out, (n + s.len()) as u64);
            out.extend_from_slice(&head[..n]);
            out.extend_from_slice(s.as_bytes());
            return;
        }
        Property::Uint(n) => {
            let k = varint_into(&mut message, 5 << 3);
            k + varint_into(&mut message[k..], *n)
        }
        Property::Bool(b) => {
            let k = varint_into(&mut message, 7 << 3);
            k + varint_into(&mut message[k..], u64::from(*b))
        }
    };
    put_bytes_field(out, 4, &message[..len]);
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

/// Writes `n` as a varint at the start of `out`; the number of bytes written.
fn varint_into(out: &mut [u8], mut n: u64) -> usize {
    let mut at = 0;
    while n >= 0x80 {
        out[at] = (n as u8) | 0x80;
        n >>= 7;
        at += 1;
    }
    out[at] = n as u8;
    at + 1
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
    //! A minimal reader of what [`TileWriter`](super::TileWriter) writes, for tests.

    /// A decoded property value.
    #[derive(Clone, Debug, PartialEq)]
    pub enum Value {
        Text(String),
        Uint(u64),
        Bool(bool),
    }

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

    /// How many fields numbered `number` the tile's layer holds (3: keys, 4: values).
    pub fn layer_fields(bytes: &[u8], number: u64) -> usize {
        let layer = fields(bytes)
            .into_iter()
            .find(|f| f.0 == 3)
            .unwrap()
            .1
            .unwrap_err();
        fields(layer).iter().filter(|f| f.0 == number).count()
    }

    /// Layer name, extent, and each feature's point and properties.
    #[allow(clippy::type_complexity)]
    pub fn tile(bytes: &[u8]) -> (String, u64, Vec<((i64, i64), Vec<(String, Value)>)>) {
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
        let values: Vec<Value> = layer
            .iter()
            .filter(|f| f.0 == 4)
            .map(|f| match fields(f.1.unwrap_err())[0] {
                (1, Err(b)) => Value::Text(text(b)),
                (5, Ok(n)) => Value::Uint(n),
                (7, Ok(b)) => Value::Bool(b != 0),
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
        use decode::Value;
        let mut writer = TileWriter::new("initiatives", 3);
        let cluster = [
            ("cluster", Property::Bool(true)),
            ("point_count", Property::Uint(300)),
        ];
        writer.point(0, 4096, &cluster);
        let name = String::from("Łódź hub");
        writer.point(
            17,
            5,
            &[
                ("cluster", Property::Bool(false)),
                ("name", Property::Text(&name)),
                ("point_count", Property::Uint(300)),
            ],
        );
        writer.point(-3, 9000, &cluster);
        let bytes = writer.finish();
        let (layer, extent, decoded) = decode::tile(&bytes);
        assert_eq!((layer.as_str(), extent), ("initiatives", 4096));
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[0].0, (0, 4096));
        assert_eq!(decoded[2].0, (-3, 9000));
        assert_eq!(decoded[1].1[1], ("name".into(), Value::Text(name.clone())));
        assert_eq!(decoded[0].1[1], ("point_count".into(), Value::Uint(300)));
        assert_eq!(decoded[1].1[2], decoded[0].1[1]);
        assert_eq!(decoded[2].1, decoded[0].1);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        // Keys and values are written once each: 3 keys, and true, false, 300 and the name.
        let counts = (
            decode::layer_fields(&bytes, 3),
            decode::layer_fields(&bytes, 4),
        );
        assert_eq!(counts, (3, 4));
        // An empty tile is still a tile with its layer.
        let empty = TileWriter::new("initiatives", 0).finish();
        assert_eq!(decode::tile(&empty).2.len(), 0);
    }

    #[test]
    fn long_values_and_varints() {
        let mut buf = [0u8; 10];
        assert_eq!(varint_into(&mut buf, u64::MAX), 10);
        let mut vec = Vec::new();
        put_varint(&mut vec, u64::MAX);
        assert_eq!(&vec[..], &buf[..]);
        let long = "x".repeat(300); // a length of two varint bytes
        let mut writer = TileWriter::new("initiatives", 1);
        writer.point(
            1,
            2,
            &[
                ("name", Property::Text(&long)),
                ("n", Property::Uint(u64::MAX)),
            ],
        );
        let (_, _, decoded) = decode::tile(&writer.finish());
        assert_eq!(
            decoded[0].1,
            vec![
                ("name".into(), decode::Value::Text(long.clone())),
                ("n".into(), decode::Value::Uint(u64::MAX))
            ]
        );
    }
}
