//! Building the cluster hierarchy: greedy clustering of each zoom level from the leaves up, on
//! a grid of Morton-ordered cells, then leaf positions numbered top-down so that every
//! cluster's leaves are one contiguous range.

use rayon::prelude::*;

use super::{ClusterOptions, Level, Node};
use crate::index::Slot;
use crate::records::Records;
use crate::tile::{interleave, lat_of, lon_of, mercator_x, mercator_y, morton};

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

/// The levels of the hierarchy over `records` (whose positions are their slots), coarsest
/// first, and the slot of every leaf position.
pub(super) fn levels(records: &Records, options: ClusterOptions) -> (Vec<Level>, Vec<Slot>) {
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

    number_leaves(built, &parents, &leaf_slots_by_index)
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
