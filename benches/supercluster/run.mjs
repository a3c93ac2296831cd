// The supercluster side of the tile benchmark: builds an index over the same points and
// answers the same tiles, printing one JSON line of timings.
import { readFileSync } from 'node:fs';
import Supercluster from 'supercluster';

const [pointsFile, tilesFile, radius, extent] = process.argv.slice(2);
const coords = new Float64Array(readFileSync(pointsFile).buffer.slice(0));
const features = [];
for (let i = 0; i < coords.length; i += 2) {
  features.push({ type: 'Feature', properties: null, geometry: { type: 'Point', coordinates: [coords[i], coords[i + 1]] } });
}
const tiles = JSON.parse(readFileSync(tilesFile, 'utf8'));

global.gc?.();
const rssBefore = process.memoryUsage().rss;
const started = process.hrtime.bigint();
const index = new Supercluster({ radius: Number(radius), extent: Number(extent), minZoom: 0, maxZoom: 16 });
index.load(features);
const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
const rssAfter = process.memoryUsage().rss;

const perZoom = {};
for (const [z, x, y] of tiles) {
  const t = process.hrtime.bigint();
  const tile = index.getTile(z, x, y);
  JSON.stringify(tile ? tile.features : []);
  (perZoom[z] ??= []).push(Number(process.hrtime.bigint() - t) / 1e6);
}
const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
};
const zooms = Object.fromEntries(Object.entries(perZoom).map(([z, v]) => [z, { p50: pct(v, 0.5), p99: pct(v, 0.99) }]));
console.log(JSON.stringify({ build_ms: buildMs, rss_mb: rssAfter / 1048576, rss_growth_mb: (rssAfter - rssBefore) / 1048576, zooms }));
