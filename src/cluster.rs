//! The cluster hierarchy behind map tiles: greedy, supercluster-style clustering per zoom, built once per snapshot.
//!
//! Each zoom level is a list of nodes (clusters, or single initiatives passed through) sorted
//! by Morton code, so the nodes of any tile are one contiguous run found by binary search.
//! Leaves are numbered in tree order, so the members of every cluster are one contiguous
//! range of leaf positions. A filter becomes a bitmap over leaf positions (cached per filter),
//! and a cluster's filtered count is a popcount over its range: exact, and independent of how
//! many initiatives match.

use std::sync::Arc;

use rayon::prelude::*;

use crate::bitmap::{Bitmap, Ranks};
use crate::index::Slot;
use crate::model::{Location, SkillArea};
use crate::records::Records;
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
    /// Builds the hierarchy over `records`, whose positions are their slots.
    pub fn build(records: &Records, options: ClusterOptions, tag: &str) -> ClusterTree {
        assert!(options.min_zoom <= options.max_zoom && options.max_zoom < 30);
        let mut leaves: Vec<(Item, Slot)> = records
            .locations()
            .par_iter()
            .enumerate()
            .map(|(slot, location)| {
                let (lon, lat) = (location.lon, location.lat);
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

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
}
