//! The base part saved beside the store, so that a restart reads it in one pass instead of
//! parsing and indexing every record again.
//!
//! The file is versioned and checksummed (xxh3 over every byte before the trailer), and names
//! the store instance, the revision it was built at and a fingerprint of what else shaped it
//! (clustering, region layers, this format). A file that is truncated, corrupt, foreign
//! (another store or format) or built with other settings is never served: loading says why
//! and the caller rebuilds from the store. It is written to a temporary file, synced and
//! renamed, so a crash mid-write leaves the previous file or none.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::Date;
use xxhash_rust::xxh3::Xxh3;

use crate::bitmap::Bitmap;
use crate::cluster::{ClusterOptions, ClusterTree, Level, Node};
use crate::country::Country;
use crate::index::SpatialIndex;
use crate::model::{
    Kind, Language, Location, LocationPrecision, SkillArea, Status, TargetGroup, TermSet,
};
use crate::records::{Attributes, Interned, Records, Shared, TextLengths};
use crate::regions::RegionIds;
use crate::regions::code::NutsCode;

use super::Part;

const MAGIC: &[u8; 8] = b"SKMAPRM\0";
/// Bump whenever the layout below changes: an older file is then rebuilt, never misread.
/// 2: records carry status, location precision, verification date and evidence URL.
const FORMAT: u32 = 2;

/// What a saved base is valid for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The store instance and the revision the base holds.
    pub instance: String,
    pub revision: u64,
    /// Clustering options, region layers and anything else that shaped the part.
    pub fingerprint: u64,
}

/// Why a saved read model was not used.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("no saved read model")]
    Missing,
    #[error("cannot read or write the read model {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the read model {0} is not a skillsmap read model of this format")]
    Foreign(String),
    #[error("the read model {0} is damaged: {1}")]
    Corrupt(String, String),
}

/// Where the read model of the store at `store` is kept.
pub fn path_for(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".readmodel");
    PathBuf::from(name)
}

/// Writes `part` with `stamp` to `path`, atomically.
pub fn save(path: &Path, part: &Part, stamp: &Stamp) -> Result<(), PersistError> {
    let io = |source| PersistError::Io {
        path: path.display().to_string(),
        source,
    };
    let temporary = path.with_extension("readmodel.tmp");
    let file = File::create(&temporary).map_err(io)?;
    let mut out = Encoder {
        out: BufWriter::with_capacity(1 << 20, file),
        hash: Xxh3::new(),
    };
    encode(&mut out, part, stamp).map_err(io)?;
    let digest = out.hash.digest();
    out.out.write_all(&digest.to_le_bytes()).map_err(io)?;
    let file = out.out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io)?;
    Ok(())
}

/// Reads the part saved at `path` if `accept` takes its stamp; returns it with the stamp.
pub fn load(
    path: &Path,
    accept: impl FnOnce(&Stamp) -> bool,
) -> Result<(Part, Stamp), PersistError> {
    let shown = path.display().to_string();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PersistError::Missing),
        Err(source) => {
            return Err(PersistError::Io {
                path: shown,
                source,
            });
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut input = Decoder {
        input: BufReader::with_capacity(1 << 20, file),
        hash: Xxh3::new(),
        remaining: size.saturating_sub(8),
    };
    let corrupt = |e: std::io::Error| PersistError::Corrupt(shown.clone(), e.to_string());
    let mut magic = [0u8; 8];
    input.bytes(&mut magic).map_err(corrupt)?;
    if &magic != MAGIC || input.u32().map_err(corrupt)? != FORMAT {
        return Err(PersistError::Foreign(shown));
    }
    let stamp = Stamp {
        instance: input.string().map_err(corrupt)?,
        revision: input.u64().map_err(corrupt)?,
        fingerprint: input.u64().map_err(corrupt)?,
    };
    if !accept(&stamp) {
        return Err(PersistError::Foreign(format!(
            "{shown} (built for another store, revision or settings)"
        )));
    }
    let part = decode(&mut input).map_err(corrupt)?;
    let digest = input.hash.digest();
    let mut trailer = [0u8; 8];
    input.input.read_exact(&mut trailer).map_err(&corrupt)?;
    if u64::from_le_bytes(trailer) != digest {
        return Err(PersistError::Corrupt(shown, "checksum mismatch".into()));
    }
    let mut rest = [0u8; 1];
    if input.input.read(&mut rest).map_err(corrupt)? != 0 {
        return Err(PersistError::Corrupt(shown, "trailing bytes".into()));
    }
    Ok((part, stamp))
}

/// A fingerprint of the settings that shape a part besides its records.
pub fn fingerprint(clustering: ClusterOptions, regions: &str) -> u64 {
    let text = format!(
        "{FORMAT}:{}:{}:{}:{}:{}:{regions}",
        env!("CARGO_PKG_VERSION"),
        clustering.radius_px,
        clustering.extent,
        clustering.min_zoom,
        clustering.max_zoom
    );
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

struct Encoder<W: Write> {
    out: W,
    hash: Xxh3,
}

impl<W: Write> Encoder<W> {
    fn bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }
    fn u8(&mut self, v: u8) -> std::io::Result<()> {
        self.bytes(&[v])
    }
    fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn f64(&mut self, v: f64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn len(&mut self, n: usize) -> std::io::Result<()> {
        self.u64(n as u64)
    }
    fn string(&mut self, s: &str) -> std::io::Result<()> {
        self.len(s.len())?;
        self.bytes(s.as_bytes())
    }
    /// A column of fixed-size items, each written by `item` into a reused buffer.
    fn column<T>(&mut self, items: &[T], item: impl Fn(&T, &mut Vec<u8>)) -> std::io::Result<()> {
        self.len(items.len())?;
        let mut buffer = Vec::with_capacity(1 << 16);
        for chunk in items.chunks(4096) {
            buffer.clear();
            for value in chunk {
                item(value, &mut buffer);
            }
            self.bytes(&buffer)?;
        }
        Ok(())
    }
}

struct Decoder<R: Read> {
    input: R,
    hash: Xxh3,
    /// Bytes left before the trailer: no length read from the file may exceed it.
    remaining: u64,
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

impl<R: Read> Decoder<R> {
    fn bytes(&mut self, into: &mut [u8]) -> std::io::Result<()> {
        if into.len() as u64 > self.remaining {
            return Err(invalid("truncated"));
        }
        self.input.read_exact(into)?;
        self.remaining -= into.len() as u64;
        self.hash.update(into);
        Ok(())
    }
    fn array<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.bytes(&mut b)?;
        Ok(b)
    }
    fn u8(&mut self) -> std::io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> std::io::Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    /// A length of items of at least `item_size` bytes each, checked against what is left.
    fn len(&mut self, item_size: u64) -> std::io::Result<usize> {
        let n = self.u64()?;
        if n.saturating_mul(item_size.max(1)) > self.remaining {
            return Err(invalid("a length runs past the end"));
        }
        Ok(n as usize)
    }
    fn string(&mut self) -> std::io::Result<String> {
        let n = self.len(1)?;
        let mut buffer = vec![0u8; n];
        self.bytes(&mut buffer)?;
        String::from_utf8(buffer).map_err(|_| invalid("text is not UTF-8"))
    }
    fn column<T>(
        &mut self,
        size: usize,
        item: impl Fn(&[u8]) -> std::io::Result<T>,
    ) -> std::io::Result<Vec<T>> {
        let n = self.len(size as u64)?;
        let mut items = Vec::with_capacity(n);
        let mut buffer = vec![0u8; size * 4096];
        let mut left = n;
        while left > 0 {
            let take = left.min(4096);
            let chunk = &mut buffer[..take * size];
            self.bytes(chunk)?;
            for raw in chunk.chunks_exact(size) {
                items.push(item(raw)?);
            }
            left -= take;
        }
        Ok(items)
    }
}

fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}
fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]))
}
fn le_f64(b: &[u8]) -> f64 {
    f64::from_bits(le_u64(b))
}

/// A date as (year, month, day) packed into 4 bytes; `0` for none.
fn date_bits(date: Option<Date>) -> u32 {
    date.map_or(0, |d| {
        ((d.year() as i32 + 10_000) as u32) << 9 | (d.month() as u32) << 5 | d.day() as u32
    })
}

fn date_of(bits: u32) -> std::io::Result<Option<Date>> {
    if bits == 0 {
        return Ok(None);
    }
    let year = (bits >> 9) as i32 - 10_000;
    Date::new(year as i16, ((bits >> 5) & 0xf) as i8, (bits & 0x1f) as i8)
        .map(Some)
        .map_err(|_| invalid("bad date"))
}

fn encode<W: Write>(out: &mut Encoder<W>, part: &Part, stamp: &Stamp) -> std::io::Result<()> {
    out.bytes(MAGIC)?;
    out.u32(FORMAT)?;
    out.string(&stamp.instance)?;
    out.u64(stamp.revision)?;
    out.u64(stamp.fingerprint)?;

    let r = &part.records;
    out.column(&r.locations, |l, b| {
        b.extend_from_slice(&l.lon.to_le_bytes());
        b.extend_from_slice(&l.lat.to_le_bytes());
    })?;
    out.column(&r.attributes, |a, b| {
        b.extend_from_slice(&a.country.index().to_le_bytes());
        b.push(a.kind.index() as u8);
        b.extend_from_slice(&(a.skill_areas.bits() as u16).to_le_bytes());
        b.extend_from_slice(&(a.target_groups.bits() as u16).to_le_bytes());
        b.extend_from_slice(&a.updated_at.as_second().to_le_bytes());
        b.extend_from_slice(&a.updated_at.subsec_nanosecond().to_le_bytes());
        b.push(a.status.index() as u8);
        b.push(a.location_precision.index() as u8);
    })?;
    out.column(&r.dates, |dates, b| {
        for date in dates {
            b.extend_from_slice(&date_bits(*date).to_le_bytes());
        }
    })?;
    out.column(&r.shared, |s, b| {
        for v in [s.organisation, s.city, s.source, s.languages] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    })?;
    out.column(&r.text_ends, |v, b| {
        b.extend_from_slice(&(*v as u64).to_le_bytes())
    })?;
    out.column(&r.text_lengths, |l, b| {
        for v in [l.id, l.name, l.description, l.url] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    })?;
    out.string(&r.texts)?;
    out.column(&r.search_ends, |v, b| {
        b.extend_from_slice(&(*v as u64).to_le_bytes())
    })?;
    out.string(&r.search)?;
    out.len(r.strings.values.len())?;
    for value in &r.strings.values {
        out.string(value)?;
    }
    out.len(r.language_lists.len())?;
    for list in &r.language_lists {
        out.len(list.len())?;
        for language in list.iter() {
            out.bytes(language.as_str().as_bytes())?;
        }
    }

    out.column(&part.placement, |p, b| {
        for v in p.raw() {
            b.extend_from_slice(&v.to_le_bytes());
        }
    })?;
    out.column(&part.nuts, |n, b| b.extend_from_slice(&n.raw()))?;

    let c = &part.clusters;
    out.f64(c.options.radius_px)?;
    out.f64(c.options.extent)?;
    out.u8(c.options.min_zoom)?;
    out.u8(c.options.max_zoom)?;
    out.string(&c.tag)?;
    out.len(c.levels.len())?;
    for level in &c.levels {
        out.column(&level.nodes, |n, b| {
            b.extend_from_slice(&n.code.to_le_bytes());
            b.extend_from_slice(&n.lon.to_le_bytes());
            b.extend_from_slice(&n.lat.to_le_bytes());
            b.extend_from_slice(&n.start.to_le_bytes());
            b.extend_from_slice(&n.end.to_le_bytes());
        })?;
        out.column(&level.by_start, |v, b| {
            b.extend_from_slice(&v.to_le_bytes())
        })?;
    }
    out.column(&c.leaf_slots, |v, b| b.extend_from_slice(&v.to_le_bytes()))?;
    out.len(c.skill_bits.len())?;
    for bits in &c.skill_bits {
        out.column(&bits.words, |v, b| b.extend_from_slice(&v.to_le_bytes()))?;
    }
    Ok(())
}

fn decode<R: Read + Send>(input: &mut Decoder<R>) -> std::io::Result<Part> {
    let locations = input.column(16, |b| {
        Ok(Location {
            lon: le_f64(&b[..8]),
            lat: le_f64(&b[8..]),
        })
    })?;
    // The R-tree is rebuilt (not saved) on another core while the rest is read.
    std::thread::scope(|scope| {
        let index = scope.spawn(|| SpatialIndex::build(&locations));
        let rest = decode_rest(input, locations.clone());
        let index = index
            .join()
            .map_err(|_| invalid("building the R-tree failed"))?;
        let (records, clusters, placement, nuts) = rest?;
        Ok(Part::from_parts(records, index, clusters, placement, nuts))
    })
}

type Decoded = (Records, ClusterTree, Vec<RegionIds>, Vec<NutsCode>);

fn decode_rest<R: Read>(
    input: &mut Decoder<R>,
    locations: Vec<Location>,
) -> std::io::Result<Decoded> {
    let attributes = input.column(20, |b| {
        let country = Country::from_index(b[0]).ok_or_else(|| invalid("bad country"))?;
        let kind = Kind::ALL
            .get(usize::from(b[1]))
            .copied()
            .ok_or_else(|| invalid("bad kind"))?;
        let second = le_u64(&b[6..14]) as i64;
        let nanos = le_u32(&b[14..18]) as i32;
        Ok(Attributes {
            country,
            kind,
            skill_areas: TermSet::<SkillArea>::from_bits(u32::from(le_u16(&b[2..4]))),
            target_groups: TermSet::<TargetGroup>::from_bits(u32::from(le_u16(&b[4..6]))),
            updated_at: Timestamp::new(second, nanos).map_err(|_| invalid("bad time"))?,
            status: Status::ALL
                .get(usize::from(b[18]))
                .copied()
                .ok_or_else(|| invalid("bad status"))?,
            location_precision: LocationPrecision::ALL
                .get(usize::from(b[19]))
                .copied()
                .ok_or_else(|| invalid("bad location precision"))?,
        })
    })?;
    let dates = input.column(12, |b| {
        Ok([
            date_of(le_u32(&b[..4]))?,
            date_of(le_u32(&b[4..8]))?,
            date_of(le_u32(&b[8..]))?,
        ])
    })?;
    let shared = input.column(16, |b| {
        Ok(Shared {
            organisation: le_u32(&b[..4]),
            city: le_u32(&b[4..8]),
            source: le_u32(&b[8..12]),
            languages: le_u32(&b[12..16]),
        })
    })?;
    let text_ends = input.column(8, |b| Ok(le_u64(b) as usize))?;
    let text_lengths = input.column(8, |b| {
        Ok(TextLengths {
            id: le_u16(&b[..2]),
            name: le_u16(&b[2..4]),
            description: le_u16(&b[4..6]),
            url: le_u16(&b[6..8]),
        })
    })?;
    let texts = input.string()?;
    let search_ends = input.column(8, |b| Ok(le_u64(b) as usize))?;
    let search = input.string()?;
    let strings = (0..input.len(8)?)
        .map(|_| input.string().map(String::into_boxed_str))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut language_lists = Vec::new();
    for _ in 0..input.len(8)? {
        let n = input.len(2)?;
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            let code = input.array::<2>()?;
            let text = std::str::from_utf8(&code).map_err(|_| invalid("bad language"))?;
            list.push(Language::parse(text).ok_or_else(|| invalid("bad language"))?);
        }
        language_lists.push(list.into_boxed_slice());
    }
    let n = locations.len();
    let consistent = [
        attributes.len(),
        dates.len(),
        shared.len(),
        text_ends.len(),
        text_lengths.len(),
        search_ends.len(),
    ]
    .iter()
    .all(|len| *len == n);
    if !consistent {
        return Err(invalid("columns of different lengths"));
    }
    // Every offset and interned reference must point inside what was read, so that a
    // damaged file fails here rather than when a query touches it.
    let ends_fit = |ends: &[usize], text: &str| {
        ends.windows(2).all(|w| w[0] <= w[1])
            && ends.last().is_none_or(|e| *e == text.len())
            && ends.iter().all(|e| text.is_char_boundary(*e))
    };
    let texts_fit = ends_fit(&text_ends, &texts)
        && ends_fit(&search_ends, &search)
        && (0..n).all(|i| {
            let start = if i == 0 { 0 } else { text_ends[i - 1] };
            let l = text_lengths[i];
            let mut end = start;
            let cut = [l.id, l.name, l.description, l.url].map(|length| {
                end += usize::from(length);
                end
            });
            cut[3] <= text_ends[i] && cut.iter().all(|c| texts.is_char_boundary(*c))
        });
    let shared_fit = shared.iter().all(|s| {
        [s.organisation, s.city, s.source]
            .iter()
            .all(|v| (*v as usize) < strings.len())
            && (s.languages as usize) < language_lists.len()
    });
    if !texts_fit || !shared_fit {
        return Err(invalid("offsets outside the texts"));
    }
    let mut records = Records {
        locations,
        attributes,
        dates,
        shared,
        text_ends,
        text_lengths,
        texts,
        search_ends,
        search,
        strings: Interned::from_values(strings),
        ..Records::default()
    };
    records.set_language_lists(language_lists);

    let placement = input.column(20, |b| {
        let raw = [0, 4, 8, 12, 16].map(|at| le_u32(&b[at..at + 4]));
        Ok(RegionIds::from_raw(raw))
    })?;
    let nuts = input.column(5, |b| {
        Ok(NutsCode::from_raw([b[0], b[1], b[2], b[3], b[4]]))
    })?;

    let options = ClusterOptions {
        radius_px: input.f64()?,
        extent: input.f64()?,
        min_zoom: input.u8()?,
        max_zoom: input.u8()?,
    };
    let tag = input.string()?;
    let mut levels = Vec::new();
    for _ in 0..input.len(16)? {
        let nodes = input.column(24, |b| {
            Ok(Node {
                code: le_u64(&b[..8]),
                lon: f32::from_le_bytes([b[8], b[9], b[10], b[11]]),
                lat: f32::from_le_bytes([b[12], b[13], b[14], b[15]]),
                start: le_u32(&b[16..20]),
                end: le_u32(&b[20..24]),
            })
        })?;
        let by_start = input.column(4, |b| Ok(le_u32(b)))?;
        levels.push(Level { nodes, by_start });
    }
    let leaf_slots = input.column(4, |b| Ok(le_u32(b)))?;
    let mut skill_bits = Vec::new();
    for _ in 0..input.len(8)? {
        skill_bits.push(Bitmap {
            words: input.column(8, |b| Ok(le_u64(b)))?,
        });
    }
    let leaves_fit = leaf_slots.len() == n
        && leaf_slots.iter().all(|s| (*s as usize) < n)
        && placement.len() == n
        && nuts.len() == n
        && skill_bits.len() == SkillArea::ALL.len()
        && skill_bits.iter().all(|b| b.words.len() == n.div_ceil(64))
        && options.min_zoom <= options.max_zoom
        && levels.len() == usize::from(options.max_zoom - options.min_zoom) + 2
        && levels.iter().all(|l| {
            l.by_start.len() == l.nodes.len()
                && l.by_start.iter().all(|k| (*k as usize) < l.nodes.len())
                && l.nodes
                    .iter()
                    .all(|node| node.start <= node.end && node.end as usize <= n)
        });
    if !leaves_fit {
        return Err(invalid("the cluster tree does not fit the records"));
    }
    let clusters = ClusterTree::from_parts(options, levels, leaf_slots, skill_bits, &tag);
    Ok((records, clusters, placement, nuts))
}
