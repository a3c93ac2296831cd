//! The cluster hierarchy behind map tiles: greedy, supercluster-style clustering per zoom, built once per snapshot.
//!
//! Each zoom level is a list of nodes (clusters, or single initiatives passed through) sorted
//! by Morton code, so the nodes of any tile are one contiguous run found by binary search.
//! Leaves are numbered in tree order, so the members of every cluster are one contiguous
//! range of leaf positions. A filter becomes a bitmap over leaf positions (cached per filter),
//! and a cluster's filtered count is a popcount over its range: exact, and independent of how
//! many initiatives match.

use std::collections::VecDeque;

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::filter::Filter;
use crate::index::{Slot, SpatialIndex};
use crate::model::{Initiative, SkillArea};
use crate::tile::{TileCoord, interleave, lat_of, lon_of, mercator_x, mercator_y, morton};

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
#[derive(Clone, Copy, Debug)]
struct Node {
    /// Morton code of the node's position; a single initiative keeps its exact one.
    code: u64,
    lon: f32,
    lat: f32,
    /// The node's leaves are the leaf positions `start..end`.
    start: u32,
    end: u32,
}

struct Level {
    /// In Morton order.
    nodes: Vec<Node>,
    /// Node indices in order of `start`, to find the children of a coarser node.
    by_start: Vec<u32>,
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
const FILTER_CACHE_SIZE: usize = 32;

pub struct ClusterTree {
    options: ClusterOptions,
    /// `levels[i]` is zoom `min_zoom + i`; the last level holds the leaves (zoom `max_zoom + 1`).
    levels: Vec<Level>,
    /// Index slot of each leaf position.
    leaf_slots: Vec<Slot>,
    /// Per skill area, which leaf positions have it.
    skill_bits: Vec<Bitmap>,
    /// Distinguishes cluster ids of different data versions.
    tag: String,
    filter_cache: Mutex<VecDeque<(String, Arc<Bitmap>)>>,
}

/// A clustering input: a node of the finer level with its Mercator position.
#[derive(Clone, Copy)]
struct Item {
    code: u64,
    x: f64,
    y: f64,
    lon: f32,
    lat: f32,
    count: u32,
}

impl ClusterTree {
    /// Builds the hierarchy over `initiatives`, whose positions are their index slots.
    pub fn build(initiatives: &[Initiative], options: ClusterOptions, tag: &str) -> ClusterTree {
        assert!(options.min_zoom <= options.max_zoom && options.max_zoom < 30);
        let mut leaves: Vec<(Item, Slot)> = initiatives
            .par_iter()
            .enumerate()
            .map(|(slot, initiative)| {
                let (lon, lat) = (initiative.location.lon, initiative.location.lat);
                let item = Item {
                    code: morton(lon, lat),
                    x: mercator_x(lon),
                    y: mercator_y(lat),
                    lon: lon as f32,
                    lat: lat as f32,
                    count: 1,
                };
                (item, slot as Slot)
            })
            .collect();
        leaves.par_sort_unstable_by_key(|(item, slot)| (item.code, *slot));
        let leaf_slots_by_index: Vec<Slot> = leaves.iter().map(|(_, slot)| *slot).collect();
        let mut items: Vec<Item> = leaves.into_iter().map(|(item, _)| item).collect();

        // Build from the leaves up; parents[k] maps level k's items to level k+1's (coarser).
        // Levels are kept as compact nodes (count as `end`) once clustered.
        let mut built: Vec<Vec<Node>> = Vec::new();
        let mut parents: Vec<Vec<u32>> = Vec::new();
        for zoom in (options.min_zoom..=options.max_zoom).rev() {
            let radius = options.radius_px / (options.extent * f64::from(1u32 << zoom));
            let (coarser, parent_of) = cluster_level(&items, radius);
            built.push(items.iter().map(|item| node_at(item, 0)).collect());
            parents.push(parent_of);
            items = coarser;
        }
        built.push(items.iter().map(|item| node_at(item, 0)).collect());
        drop(items);
        built.reverse();
        parents.reverse();
        // Now built[0] is min_zoom, built.last() the leaves; parents[k] maps built[k+1] to built[k].

        let (levels, leaf_slots) = number_leaves(built, &parents, &leaf_slots_by_index);
        let skill_bits = Bitmap::per_bit(leaf_slots.len(), SkillArea::ALL.len(), |pos| {
            let areas = initiatives[leaf_slots[pos] as usize].skill_areas;
            SkillArea::ALL
                .iter()
                .enumerate()
                .fold(0u32, |bits, (i, area)| {
                    bits | (u32::from(areas.contains(*area)) << i)
                })
        });
        ClusterTree {
            options,
            levels,
            leaf_slots,
            skill_bits,
            tag: tag.chars().take(8).collect(),
            filter_cache: Mutex::new(VecDeque::new()),
        }
    }

    pub fn options(&self) -> ClusterOptions {
        self.options
    }

    /// The clusters and initiatives of one tile that match `filter`. Every item lies in the
    /// tile, and over all tiles of a zoom every matching initiative is counted exactly once.
    pub fn tile(&self, index: &SpatialIndex, tile: TileCoord, filter: &Filter) -> Vec<TileItem> {
        let level = self.level_index(tile.z);
        let matches = self.matches(index, filter);
        let mut items = Vec::new();
        match &matches {
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
                                let at = index.get(slot).location;
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

    /// The items one zoom level below a cluster, with the same filter.
    pub fn children(
        &self,
        index: &SpatialIndex,
        id: &str,
        filter: &Filter,
    ) -> Result<Vec<TileItem>, ClusterError> {
        let (level, node) = self.parse_id(id)?;
        let matches = self.matches(index, filter);
        let child_level = (level + 1).min(self.levels.len() - 1);
        let mut items = Vec::new();
        for child in self.children_of(child_level, &node) {
            let child_node = self.levels[child_level].nodes[child as usize];
            let count = count_in(matches.as_deref(), &child_node);
            match count {
                0 => {}
                1 => items.push(TileItem::Initiative(
                    self.first_leaf(matches.as_deref(), &child_node),
                )),
                _ => {
                    items.push(self.item(child_level, child, child_node, count, matches.as_deref()))
                }
            }
        }
        Ok(items)
    }

    /// The matching members of a cluster in tree order: a page of them, and how many there are.
    pub fn leaves(
        &self,
        index: &SpatialIndex,
        id: &str,
        filter: &Filter,
        (offset, limit): (usize, usize),
    ) -> Result<(Vec<Slot>, usize), ClusterError> {
        let (_, node) = self.parse_id(id)?;
        let matches = self.matches(index, filter);
        let positions = node.start..node.end;
        let slots: Vec<Slot> = match &matches {
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
            .zip(&self.skill_bits)
            .map(|(area, bits)| {
                let n = match matches {
                    None => bits.count(node.start, node.end),
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

    /// The bitmap of leaf positions matching `filter`, or `None` when everything matches.
    fn matches(&self, index: &SpatialIndex, filter: &Filter) -> Option<Arc<Bitmap>> {
        if index.passes_all(filter) {
            return None;
        }
        let key = format!("{filter:?}");
        if let Some(bits) = self.cached(&key) {
            return Some(bits);
        }
        let bits = Arc::new(Bitmap::from_fn(self.leaf_slots.len(), |pos| {
            index.matches(self.leaf_slots[pos], filter)
        }));
        let mut cache = self.filter_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.push_front((key, bits.clone()));
        cache.truncate(FILTER_CACHE_SIZE);
        Some(bits)
    }

    fn cached(&self, key: &str) -> Option<Arc<Bitmap>> {
        let mut cache = self.filter_cache.lock().unwrap_or_else(|e| e.into_inner());
        let at = cache.iter().position(|(k, _)| k == key)?;
        let entry = cache.remove(at)?;
        let bits = entry.1.clone();
        cache.push_front(entry);
        Some(bits)
    }
}

fn count_in(matches: Option<&Bitmap>, node: &Node) -> u32 {
    match matches {
        None => node.end - node.start,
        Some(bits) => bits.count(node.start, node.end),
    }
}

/// Clusters one level's items (in Morton order) with the given radius in Mercator units.
/// Returns the coarser level in Morton order and, for each input item, its parent there.
fn cluster_level(items: &[Item], radius: f64) -> (Vec<Item>, Vec<u32>) {
    // Cells at least a diameter wide: a radius search touches at most 2x2 of them.
    let cell_zoom = (-(2.0 * radius).log2()).floor().clamp(0.0, 31.0) as u32;
    let cell_of = |code: u64| {
        if cell_zoom == 0 {
            0
        } else {
            code >> (64 - 2 * cell_zoom)
        }
    };
    // Occupied cells in Morton order with their runs of items. Items are visited in Morton
    // order too, so the cells a search needs are usually near the current one: a galloping
    // search from it stays in cache where a hash map would miss.
    let mut cells: Vec<Cell> = Vec::new();
    let mut cell_of_item: Vec<u32> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let key = cell_of(item.code);
        match cells.last_mut() {
            Some(cell) if cell.key == key => cell.end = i as u32 + 1,
            _ => cells.push(Cell {
                key,
                start: i as u32,
                end: i as u32 + 1,
            }),
        }
        cell_of_item.push(cells.len() as u32 - 1);
    }
    let cells_per_axis = 1u64 << cell_zoom;
    let cell_range = |v: f64| {
        let lo = ((v - radius).max(0.0) * cells_per_axis as f64) as u64;
        let hi = ((v + radius).min(1.0) * cells_per_axis as f64) as u64;
        lo.min(cells_per_axis - 1)..=hi.min(cells_per_axis - 1)
    };

    let radius2 = radius * radius;
    let mut taken = vec![false; items.len()];
    let mut parent_of = vec![0u32; items.len()];
    let mut coarser: Vec<Item> = Vec::new();
    let mut members: Vec<u32> = Vec::new();
    for i in 0..items.len() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let seed = items[i];
        members.clear();
        members.push(i as u32);
        for cy in cell_range(seed.y) {
            for cx in cell_range(seed.x) {
                let key = interleave(cx as u32, cy as u32);
                let Some((from, to)) = find_cell(&cells, cell_of_item[i] as usize, key) else {
                    continue;
                };
                for j in from..to {
                    let other = items[j as usize];
                    let (dx, dy) = (other.x - seed.x, other.y - seed.y);
                    if !taken[j as usize] && dx * dx + dy * dy <= radius2 {
                        taken[j as usize] = true;
                        members.push(j);
                    }
                }
            }
        }
        let parent = coarser.len() as u32;
        for m in &members {
            parent_of[*m as usize] = parent;
        }
        coarser.push(if members.len() == 1 {
            seed
        } else {
            merge(items, &members)
        });
    }

    // Put the coarser level in Morton order and point the parents at the new positions.
    // Seeds come in Morton order and centres move little, so the keys are nearly sorted:
    // a stable (run-adaptive) sort of contiguous pairs is close to linear here.
    let mut order: Vec<(u64, u32)> = coarser
        .iter()
        .enumerate()
        .map(|(k, item)| (item.code, k as u32))
        .collect();
    order.sort_by_key(|(code, _)| *code);
    let mut new_position = vec![0u32; coarser.len()];
    for (position, (_, old)) in order.iter().enumerate() {
        new_position[*old as usize] = position as u32;
    }
    for parent in &mut parent_of {
        *parent = new_position[*parent as usize];
    }
    let sorted = order.iter().map(|(_, k)| coarser[*k as usize]).collect();
    (sorted, parent_of)
}

/// A cluster at the weighted centre of its members. Its position is rounded to what is
/// stored (f32) before its code is taken, so the tile it is listed in is the tile its
/// published coordinates fall in.
fn merge(items: &[Item], members: &[u32]) -> Item {
    let (mut wx, mut wy, mut count) = (0.0, 0.0, 0u32);
    for m in members {
        let item = items[*m as usize];
        wx += item.x * f64::from(item.count);
        wy += item.y * f64::from(item.count);
        count += item.count;
    }
    let (lon, lat) = (
        lon_of(wx / f64::from(count)) as f32,
        lat_of(wy / f64::from(count)) as f32,
    );
    let (lon64, lat64) = (f64::from(lon), f64::from(lat));
    Item {
        code: morton(lon64, lat64),
        x: mercator_x(lon64),
        y: mercator_y(lat64),
        lon,
        lat,
        count,
    }
}

/// An occupied cell of the clustering grid and its run of items.
struct Cell {
    key: u64,
    start: u32,
    end: u32,
}

/// The run of items in the cell `key`, searching outward from cell index `near`.
fn find_cell(cells: &[Cell], near: usize, key: u64) -> Option<(u32, u32)> {
    let at = if cells[near].key == key {
        near
    } else if cells[near].key < key {
        let mut step = 1;
        while near + step < cells.len() && cells[near + step].key < key {
            step *= 2;
        }
        let hi = (near + step).min(cells.len());
        near + 1 + cells[near + 1..hi].partition_point(|c| c.key < key)
    } else {
        let mut step = 1;
        while step <= near && cells[near - step].key > key {
            step *= 2;
        }
        let lo = near.saturating_sub(step);
        lo + cells[lo..near].partition_point(|c| c.key < key)
    };
    cells
        .get(at)
        .filter(|c| c.key == key)
        .map(|c| (c.start, c.end))
}

/// Gives every node its range of leaf positions, top-down, so that each cluster's leaves
/// are contiguous. Returns the finished levels and the slot of every leaf position.
fn number_leaves(
    built: Vec<Vec<Node>>,
    parents: &[Vec<u32>],
    leaf_slots_by_index: &[Slot],
) -> (Vec<Level>, Vec<Slot>) {
    let mut levels: Vec<Level> = Vec::with_capacity(built.len());
    for (k, mut nodes) in built.into_iter().enumerate() {
        if k == 0 {
            let mut cursor = 0u32;
            for node in &mut nodes {
                cursor = place(node, cursor);
            }
            levels.push(Level {
                by_start: (0..nodes.len() as u32).collect(),
                nodes,
            });
            continue;
        }
        let parent_of = &parents[k - 1];
        let coarser = &levels[k - 1];
        // Children of each parent, in Morton order (a counting sort by parent).
        let mut first_child = vec![0u32; coarser.nodes.len() + 1];
        for p in parent_of {
            first_child[*p as usize + 1] += 1;
        }
        for i in 1..first_child.len() {
            first_child[i] += first_child[i - 1];
        }
        let mut fill = first_child.clone();
        let mut grouped = vec![0u32; parent_of.len()];
        for (child, p) in parent_of.iter().enumerate() {
            grouped[fill[*p as usize] as usize] = child as u32;
            fill[*p as usize] += 1;
        }
        let mut by_start = Vec::with_capacity(nodes.len());
        for &p in &coarser.by_start {
            let mut cursor = coarser.nodes[p as usize].start;
            let children =
                &grouped[first_child[p as usize] as usize..first_child[p as usize + 1] as usize];
            for &child in children {
                cursor = place(&mut nodes[child as usize], cursor);
                by_start.push(child);
            }
        }
        levels.push(Level { nodes, by_start });
    }
    let leaves = levels.last().expect("at least the leaf level");
    let mut leaf_slots = vec![0 as Slot; leaves.nodes.len()];
    for (i, node) in leaves.nodes.iter().enumerate() {
        leaf_slots[node.start as usize] = leaf_slots_by_index[i];
    }
    (levels, leaf_slots)
}

/// Gives a node (whose `end` still holds its count) the leaf positions from `start`; returns
/// the next free position.
fn place(node: &mut Node, start: u32) -> u32 {
    let count = node.end - node.start;
    node.start = start;
    node.end = start + count;
    node.end
}

fn node_at(item: &Item, start: u32) -> Node {
    Node {
        code: item.code,
        lon: item.lon,
        lat: item.lat,
        start,
        end: start + item.count,
    }
}

/// A fixed-length set of positions, one bit each.
pub struct Bitmap {
    words: Vec<u64>,
}

impl Bitmap {
    pub fn from_fn(len: usize, f: impl Fn(usize) -> bool + Sync) -> Bitmap {
        let words = (0..len.div_ceil(64))
            .into_par_iter()
            .map(|w| {
                let base = w * 64;
                (0..64.min(len - base))
                    .fold(0u64, |word, bit| word | (u64::from(f(base + bit)) << bit))
            })
            .collect();
        Bitmap { words }
    }

    /// `count` bitmaps in one pass: bit `i` of `f(pos)` is position `pos` of bitmap `i`.
    pub fn per_bit(len: usize, count: usize, f: impl Fn(usize) -> u32 + Sync) -> Vec<Bitmap> {
        let blocks: Vec<Vec<u64>> = (0..len.div_ceil(64))
            .into_par_iter()
            .map(|w| {
                let base = w * 64;
                let mut words = vec![0u64; count];
                for bit in 0..64.min(len - base) {
                    let flags = f(base + bit);
                    for (i, word) in words.iter_mut().enumerate() {
                        *word |= u64::from((flags >> i) & 1) << bit;
                    }
                }
                words
            })
            .collect();
        (0..count)
            .map(|i| Bitmap {
                words: blocks.iter().map(|block| block[i]).collect(),
            })
            .collect()
    }

    pub fn get(&self, pos: u32) -> bool {
        self.words[pos as usize / 64] & (1 << (pos % 64)) != 0
    }

    /// Set bits in `start..end`.
    pub fn count(&self, start: u32, end: u32) -> u32 {
        self.fold_range(start, end, |w, _| w)
    }

    /// Positions in `start..end` set in both bitmaps.
    pub fn count_and(&self, other: &Bitmap, start: u32, end: u32) -> u32 {
        self.fold_range(start, end, |w, i| w & other.words[i])
    }

    pub fn first_set(&self, start: u32, end: u32) -> Option<u32> {
        let (start, end) = (start as usize, end as usize);
        let mut pos = start;
        while pos < end {
            let word = self.words[pos / 64] >> (pos % 64);
            if word != 0 {
                let found = pos + word.trailing_zeros() as usize;
                return (found < end).then_some(found as u32);
            }
            pos = (pos / 64 + 1) * 64;
        }
        None
    }

    fn fold_range(&self, start: u32, end: u32, word_at: impl Fn(u64, usize) -> u64) -> u32 {
        let (start, end) = (start as usize, end as usize);
        if start >= end {
            return 0;
        }
        let (first, last) = (start / 64, (end - 1) / 64);
        let mut total = 0;
        for i in first..=last {
            let mut word = word_at(self.words[i], i);
            if i == first {
                word &= u64::MAX << (start % 64);
            }
            if i == last && end % 64 != 0 {
                word &= u64::MAX >> (64 - end % 64);
            }
            total += word.count_ones();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::initiative;
    use crate::model::{Kind, TermSet};
    use crate::tile::tile_of;
    use rand::{RngExt, SeedableRng};

    fn random_index(n: usize) -> SpatialIndex {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let initiatives = (0..n)
            .map(|i| {
                let (lon, lat) = if i % 5 == 0 {
                    (
                        rng.random_range(-180.0..180.0),
                        rng.random_range(-85.0..85.0),
                    )
                } else {
                    (
                        13.4 + rng.random_range(-2.0..2.0),
                        52.5 + rng.random_range(-1.0..1.0),
                    )
                };
                let mut it = initiative(&format!("i{i}"), lon, lat);
                if i % 3 == 0 {
                    it.kind = Kind::Training;
                }
                it
            })
            .collect();
        SpatialIndex::new(initiatives)
    }

    fn total_at_zoom(tree: &ClusterTree, index: &SpatialIndex, z: u8, filter: &Filter) -> u32 {
        // Only tiles that hold data matter; find them from the initiatives' own tiles and
        // their neighbours (where a cluster's centre may lie).
        let mut tiles: Vec<TileCoord> = index
            .initiatives()
            .iter()
            .flat_map(|i| tile_of(i.location.lon, i.location.lat, z).neighbourhood(1))
            .collect();
        tiles.sort_by_key(|t| (t.x, t.y));
        tiles.dedup();
        let mut total = 0;
        for tile in tiles {
            for item in tree.tile(index, tile, filter) {
                let (lon, lat) = match &item {
                    TileItem::Cluster(c) => {
                        total += c.count;
                        (c.lon, c.lat)
                    }
                    TileItem::Initiative(slot) => {
                        total += 1;
                        let at = index.get(*slot).location;
                        (at.lon, at.lat)
                    }
                };
                assert_eq!(tile_of(lon, lat, z), tile, "item outside its tile");
            }
        }
        total
    }

    #[test]
    fn every_zoom_counts_every_initiative_once() {
        let index = random_index(3_000);
        let tree = ClusterTree::build(index.initiatives(), ClusterOptions::default(), "t");
        let training = Filter {
            kinds: Some([Kind::Training].into_iter().collect::<TermSet<Kind>>()),
            ..Filter::default()
        };
        let expected_training = index.matching(None, &training).len() as u32;
        for z in [0, 1, 3, 5, 8, 12, 16, 17, 20] {
            assert_eq!(
                total_at_zoom(&tree, &index, z, &Filter::default()),
                3_000,
                "z{z}"
            );
            assert_eq!(
                total_at_zoom(&tree, &index, z, &training),
                expected_training,
                "z{z} filtered"
            );
        }
    }

    #[test]
    fn low_zooms_cluster_and_high_zooms_do_not() {
        let index = random_index(2_000);
        let tree = ClusterTree::build(index.initiatives(), ClusterOptions::default(), "t");
        let world = tree.tile(&index, TileCoord::new(0, 0, 0).unwrap(), &Filter::default());
        assert!(world.len() < 200, "{} items at z0", world.len());
        let biggest = world
            .iter()
            .filter_map(|i| match i {
                TileItem::Cluster(c) => Some(c),
                _ => None,
            })
            .max_by_key(|c| c.count)
            .unwrap();
        assert!(biggest.expansion_zoom >= 1);
        assert_eq!(
            biggest.skill_areas,
            vec![(SkillArea::DataAi, biggest.count)]
        );
        // Its children add up to it, and its leaves are its members.
        let children = tree
            .children(&index, &biggest.id, &Filter::default())
            .unwrap();
        let sum: u32 = children
            .iter()
            .map(|c| match c {
                TileItem::Cluster(c) => c.count,
                TileItem::Initiative(_) => 1,
            })
            .sum();
        assert_eq!(sum, biggest.count);
        let (page, total) = tree
            .leaves(&index, &biggest.id, &Filter::default(), (0, 10))
            .unwrap();
        assert_eq!((page.len(), total), (10, biggest.count as usize));
        assert_eq!(
            tree.children(&index, "0-0-other", &Filter::default()),
            Err(ClusterError::Stale("0-0-other".into()))
        );
        assert!(matches!(
            tree.children(&index, "junk", &Filter::default()),
            Err(ClusterError::Malformed(_))
        ));
    }

    #[test]
    fn empty_and_identical_data() {
        let empty = SpatialIndex::new(Vec::new());
        let tree = ClusterTree::build(empty.initiatives(), ClusterOptions::default(), "t");
        for z in [0, 10, 20] {
            assert!(
                tree.tile(&empty, TileCoord::new(z, 0, 0).unwrap(), &Filter::default())
                    .is_empty()
            );
        }
        // Many initiatives at one place (city-level coordinates) stay one cluster up to the
        // highest cluster zoom, and expand just above it.
        let same = SpatialIndex::new(
            (0..50)
                .map(|i| initiative(&format!("s{i}"), 4.35, 50.85))
                .collect(),
        );
        let tree = ClusterTree::build(same.initiatives(), ClusterOptions::default(), "t");
        let at16 = tree.tile(&same, tile_of(4.35, 50.85, 16), &Filter::default());
        match &at16[..] {
            [TileItem::Cluster(c)] => assert_eq!((c.count, c.expansion_zoom), (50, 17)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            tree.tile(&same, tile_of(4.35, 50.85, 17), &Filter::default())
                .len(),
            50
        );
    }

    #[test]
    fn galloping_cell_search_finds_what_a_scan_finds() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut keys: Vec<u64> = (0..500).map(|_| rng.random_range(0..2_000)).collect();
        keys.sort_unstable();
        keys.dedup();
        let cells: Vec<Cell> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Cell {
                key: *k,
                start: i as u32,
                end: i as u32 + 1,
            })
            .collect();
        for near in [0, 1, cells.len() / 2, cells.len() - 1] {
            for key in 0..2_100 {
                let expected = cells
                    .iter()
                    .find(|c| c.key == key)
                    .map(|c| (c.start, c.end));
                assert_eq!(
                    find_cell(&cells, near, key),
                    expected,
                    "near {near} key {key}"
                );
            }
        }
    }

    #[test]
    fn bitmap_ranges() {
        let bits = Bitmap::from_fn(200, |i| i % 3 == 0);
        let split = Bitmap::per_bit(200, 2, |i| {
            u32::from(i % 3 == 0) | (u32::from(i % 2 == 0) << 1)
        });
        assert_eq!(split[0].words, bits.words);
        assert_eq!(split[1].count(0, 200), 100);
        let naive = |s: u32, e: u32| (s..e).filter(|i| i % 3 == 0).count() as u32;
        for (s, e) in [
            (0, 200),
            (1, 64),
            (63, 65),
            (64, 128),
            (5, 6),
            (6, 7),
            (190, 200),
            (10, 10),
        ] {
            assert_eq!(bits.count(s, e), naive(s, e), "{s}..{e}");
        }
        assert_eq!(bits.first_set(1, 200), Some(3));
        assert_eq!(bits.first_set(4, 6), None);
        assert_eq!(bits.first_set(190, 200), Some(192));
    }
}
