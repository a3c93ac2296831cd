//! The cluster hierarchy behind map tiles: greedy, supercluster-style clustering per zoom, built once per snapshot.
//!
//! Each zoom level is a list of nodes (clusters, or single initiatives passed through) sorted
//! by Morton code, so the nodes of any tile are one contiguous run found by binary search.
//! Leaves are numbered in tree order, so the members of every cluster are one contiguous
//! range of leaf positions. A filter becomes a bitmap over leaf positions (cached per filter),
//! and a cluster's filtered count is a popcount over its range: exact, and independent of how
//! many initiatives match.

use std::sync::Arc;

use crate::bitmap::{Bitmap, Ranks};
use crate::index::Slot;
use crate::model::{Location, SkillArea};
use crate::records::Records;
use crate::tile::{TileCoord, morton};

mod build;

/// How clusters are formed, as in supercluster.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClusterOptions {
    /// Cluster radius in pixels of a tile of `extent` pixels.
    pub radius_px: f64,
    pub extent: f64,
    /// Lowest zoom with its own clusters; lower zooms show this one's.
    pub min_zoom: u8,
    /// Highest zoom with clusters; above it tiles show single initiatives.
    pub max_zoom: u8,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        // 60 pixels of a 256-pixel tile: Leaflet draws 256-pixel tiles, and cluster circles
        // up to about 50 pixels wide then do not overlap.
        ClusterOptions {
            radius_px: 60.0,
            extent: 256.0,
            min_zoom: 0,
            max_zoom: 16,
        }
    }
}

/// A cluster or a single initiative at one zoom level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Node {
    /// Morton code of the node's position; a single initiative keeps its exact one.
    pub(crate) code: u64,
    pub(crate) lon: f32,
    pub(crate) lat: f32,
    /// The node's leaves are the leaf positions `start..end`.
    pub(crate) start: u32,
    pub(crate) end: u32,
}

pub(crate) struct Level {
    /// In Morton order.
    pub(crate) nodes: Vec<Node>,
    /// Node indices in order of `start`, to find the children of a coarser node.
    pub(crate) by_start: Vec<u32>,
}

/// What a tile (or a cluster's children) holds: clusters and single initiatives.
#[derive(Clone, Debug, PartialEq)]
pub enum TileItem {
    Cluster(ClusterSummary),
    Initiative(Slot),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSummary {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
    pub count: u32,
    /// The zoom at which this cluster breaks up into several items.
    pub expansion_zoom: u8,
    /// Matching members per skill area, in the vocabulary's order.
    pub skill_areas: Vec<(SkillArea, u32)>,
}

/// Why a cluster id could not be used.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ClusterError {
    #[error("\"{0}\" is not a cluster id")]
    Malformed(String),
    #[error("cluster \"{0}\" belongs to another version of the data; reload the tiles")]
    Stale(String),
}

/// Filters whose bitmaps are kept, most recent first.
const FILTER_CACHE_SIZE: u64 = 32;

pub struct ClusterTree {
    pub(crate) options: ClusterOptions,
    /// `levels[i]` is zoom `min_zoom + i`; the last level holds the leaves (zoom `max_zoom + 1`).
    pub(crate) levels: Vec<Level>,
    /// Index slot of each leaf position.
    pub(crate) leaf_slots: Vec<Slot>,
    /// Per skill area, which leaf positions have it.
    pub(crate) skill_bits: Vec<Bitmap>,
    /// Rank directories of `skill_bits`: unfiltered tiles count a cluster's skill areas in
    /// constant time, however many leaves it holds.
    skill_ranks: Vec<Ranks>,
    /// Distinguishes cluster ids of different data versions.
    pub(crate) tag: String,
    /// Recent filters' bitmaps of matching leaf positions (a filter always gives the same
    /// bitmap over the same tree).
    filter_cache: moka::sync::Cache<String, Arc<Bitmap>>,
}

impl ClusterTree {
    /// Builds the hierarchy over `records`, whose positions are their slots.
    pub fn build(records: &Records, options: ClusterOptions, tag: &str) -> ClusterTree {
        let (levels, leaf_slots) = build::levels(records, options);
        let skill_bits = Bitmap::per_bit(leaf_slots.len(), SkillArea::ALL.len(), |pos| {
            let areas = records.attributes(leaf_slots[pos] as usize).skill_areas;
            SkillArea::ALL
                .iter()
                .enumerate()
                .fold(0u32, |bits, (i, area)| {
                    bits | (u32::from(areas.contains(*area)) << i)
                })
        });
        ClusterTree::from_parts(options, levels, leaf_slots, skill_bits, tag)
    }

    /// A tree from its parts (as built, or as read back from a saved read model).
    pub(crate) fn from_parts(
        options: ClusterOptions,
        levels: Vec<Level>,
        leaf_slots: Vec<Slot>,
        skill_bits: Vec<Bitmap>,
        tag: &str,
    ) -> ClusterTree {
        let skill_ranks = skill_bits.iter().map(Ranks::of).collect();
        ClusterTree {
            options,
            levels,
            leaf_slots,
            skill_bits,
            skill_ranks,
            tag: tag.chars().take(8).collect(),
            filter_cache: moka::sync::Cache::new(FILTER_CACHE_SIZE),
        }
    }

    /// How many leaves (initiatives) the tree holds.
    pub fn leaf_count(&self) -> usize {
        self.leaf_slots.len()
    }

    /// True when a cluster id names a cluster of this tree (of this data version).
    pub fn owns(&self, id: &str) -> bool {
        id.splitn(3, '-').nth(2) == Some(self.tag.as_str())
    }

    /// Approximate bytes held by the levels, the leaf table and the skill bitmaps.
    pub fn heap_bytes(&self) -> usize {
        let levels: usize = self
            .levels
            .iter()
            .map(|l| l.nodes.capacity() * std::mem::size_of::<Node>() + l.by_start.capacity() * 4)
            .sum();
        levels
            + self.leaf_slots.capacity() * 4
            + self
                .skill_bits
                .iter()
                .map(|b| b.words.capacity() * 8)
                .sum::<usize>()
    }

    pub fn options(&self) -> ClusterOptions {
        self.options
    }

    /// The clusters and initiatives of one tile made of the leaves `matches` holds (every
    /// leaf when `None`); `location_of` gives a slot's position. Every item lies in the
    /// tile, and over all tiles of a zoom every matching initiative is counted exactly once.
    pub fn tile(
        &self,
        tile: TileCoord,
        matches: Option<&Bitmap>,
        location_of: impl Fn(Slot) -> Location,
    ) -> Vec<TileItem> {
        let level = self.level_index(tile.z);
        let mut items = Vec::new();
        match matches {
            None => {
                for (i, node) in self.nodes_in(level, tile) {
                    items.push(self.item(level, i, node, node.end - node.start, None));
                }
            }
            Some(bits) => {
                // A cluster with one matching member shows that member at its own position,
                // which may lie in a neighbouring tile of the cluster's centre.
                for near in tile.neighbourhood(self.neighbour_rings()) {
                    for (i, node) in self.nodes_in(level, near) {
                        match bits.count(node.start, node.end) {
                            0 => {}
                            1 => {
                                let pos = bits.first_set(node.start, node.end).expect("count is 1");
                                let slot = self.leaf_slots[pos as usize];
                                let at = location_of(slot);
                                if tile.contains_code(morton(at.lon, at.lat)) {
                                    items.push(TileItem::Initiative(slot));
                                }
                            }
                            count if near == tile => {
                                items.push(self.item(level, i, node, count, Some(bits)))
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        items
    }

    /// The items one zoom level below a cluster, made of the leaves `matches` holds.
    pub fn children(
        &self,
        id: &str,
        matches: Option<&Bitmap>,
    ) -> Result<Vec<TileItem>, ClusterError> {
        let (level, node) = self.parse_id(id)?;
        let child_level = (level + 1).min(self.levels.len() - 1);
        let mut items = Vec::new();
        for child in self.children_of(child_level, &node) {
            let child_node = self.levels[child_level].nodes[child as usize];
            let count = count_in(matches, &child_node);
            match count {
                0 => {}
                1 => items.push(TileItem::Initiative(self.first_leaf(matches, &child_node))),
                _ => items.push(self.item(child_level, child, child_node, count, matches)),
            }
        }
        Ok(items)
    }

    /// The members of a cluster that `matches` holds, in tree order: a page of them, and
    /// how many there are.
    pub fn leaves(
        &self,
        id: &str,
        matches: Option<&Bitmap>,
        (offset, limit): (usize, usize),
    ) -> Result<(Vec<Slot>, usize), ClusterError> {
        let (_, node) = self.parse_id(id)?;
        let positions = node.start..node.end;
        let slots: Vec<Slot> = match matches {
            None => positions.map(|p| self.leaf_slots[p as usize]).collect(),
            Some(bits) => positions
                .filter(|p| bits.get(*p))
                .map(|p| self.leaf_slots[p as usize])
                .collect(),
        };
        let total = slots.len();
        Ok((slots.into_iter().skip(offset).take(limit).collect(), total))
    }

    fn item(
        &self,
        level: usize,
        i: u32,
        node: Node,
        count: u32,
        matches: Option<&Bitmap>,
    ) -> TileItem {
        if count == 1 {
            return TileItem::Initiative(self.first_leaf(matches, &node));
        }
        let skill_areas = SkillArea::ALL
            .iter()
            .zip(self.skill_bits.iter().zip(&self.skill_ranks))
            .map(|(area, (bits, ranks))| {
                let n = match matches {
                    None => ranks.count(bits, node.start, node.end),
                    Some(m) => bits.count_and(m, node.start, node.end),
                };
                (*area, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        TileItem::Cluster(ClusterSummary {
            id: format!("{}-{i}-{}", self.zoom_of(level), self.tag),
            lon: f64::from(node.lon),
            lat: f64::from(node.lat),
            count,
            expansion_zoom: self.expansion_zoom(level, node, matches),
            skill_areas,
        })
    }

    /// The first zoom below `level` at which the node's matching members fall into more than
    /// one item.
    fn expansion_zoom(&self, level: usize, node: Node, matches: Option<&Bitmap>) -> u8 {
        let mut current = node;
        for child_level in level + 1..self.levels.len() {
            let mut non_empty = self
                .children_of(child_level, &current)
                .map(|c| self.levels[child_level].nodes[c as usize])
                .filter(|c| count_in(matches, c) > 0);
            let first = non_empty.next();
            match (first, non_empty.next()) {
                (Some(only), None) => current = only,
                _ => return self.zoom_of(child_level),
            }
        }
        self.zoom_of(self.levels.len() - 1)
    }

    fn first_leaf(&self, matches: Option<&Bitmap>, node: &Node) -> Slot {
        let pos = match matches {
            None => node.start,
            Some(bits) => bits.first_set(node.start, node.end).unwrap_or(node.start),
        };
        self.leaf_slots[pos as usize]
    }

    fn children_of(&self, child_level: usize, parent: &Node) -> impl Iterator<Item = u32> + '_ {
        let level = &self.levels[child_level];
        let start_of = |k: &u32| level.nodes[*k as usize].start;
        let from = level
            .by_start
            .partition_point(|k| start_of(k) < parent.start);
        let to = level.by_start.partition_point(|k| start_of(k) < parent.end);
        level.by_start[from..to].iter().copied()
    }

    fn nodes_in(&self, level: usize, tile: TileCoord) -> impl Iterator<Item = (u32, Node)> + '_ {
        let nodes = &self.levels[level].nodes;
        let (start, last) = tile.code_range();
        let from = nodes.partition_point(|n| n.code < start);
        let to = nodes.partition_point(|n| n.code <= last);
        (from..to).map(move |i| (i as u32, nodes[i]))
    }

    fn level_index(&self, zoom: u8) -> usize {
        let zoom = zoom.clamp(self.options.min_zoom, self.options.max_zoom + 1);
        usize::from(zoom - self.options.min_zoom)
    }

    fn zoom_of(&self, level: usize) -> u8 {
        self.options.min_zoom + level as u8
    }

    /// How many tiles away a cluster's members can lie from its centre: each merge keeps
    /// members within two radii of the centre, and radii halve per zoom, so four radii bound
    /// the whole chain.
    fn neighbour_rings(&self) -> u32 {
        (4.0 * self.options.radius_px / self.options.extent)
            .ceil()
            .max(1.0) as u32
    }

    fn parse_id(&self, id: &str) -> Result<(usize, Node), ClusterError> {
        let malformed = || ClusterError::Malformed(id.to_string());
        let mut parts = id.splitn(3, '-');
        let zoom: u8 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(malformed)?;
        let index: usize = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(malformed)?;
        let tag = parts.next().ok_or_else(malformed)?;
        if tag != self.tag {
            return Err(ClusterError::Stale(id.to_string()));
        }
        if zoom < self.options.min_zoom || zoom > self.options.max_zoom + 1 {
            return Err(malformed());
        }
        let level = self.level_index(zoom);
        let node = *self.levels[level].nodes.get(index).ok_or_else(malformed)?;
        Ok((level, node))
    }

    /// The bitmap of leaf positions whose slot passes the test `make_test` makes, kept under
    /// `key` (a filter always gives the same bitmap over the same tree); the test is made
    /// only when the bitmap is not kept already.
    pub fn leaves_where<T: Fn(Slot) -> bool + Sync>(
        &self,
        key: &str,
        make_test: impl FnOnce() -> T,
    ) -> Arc<Bitmap> {
        // `get_with` builds a missing entry once, however many requests ask for it at once.
        self.filter_cache.get_with_by_ref(key, || {
            let test = make_test();
            Arc::new(Bitmap::from_fn(self.leaf_slots.len(), |pos| {
                test(self.leaf_slots[pos])
            }))
        })
    }

    /// The leaf positions of the slots `hidden` holds.
    pub fn hidden_leaves(&self, hidden: &Bitmap) -> Bitmap {
        Bitmap::from_fn(self.leaf_slots.len(), |pos| {
            hidden.get(self.leaf_slots[pos])
        })
    }
}

fn count_in(matches: Option<&Bitmap>, node: &Node) -> u32 {
    match matches {
        None => node.end - node.start,
        Some(bits) => bits.count(node.start, node.end),
    }
}
