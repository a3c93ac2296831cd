// The supercluster side of the tile benchmark: builds an index over the same points with the
// same options and, if given a tile list, answers the same tiles; prints one JSON line.
// Usage: node --expose-gc run.mjs POINTS.f64 RADIUS EXTENT MIN_ZOOM MAX_ZOOM [TILES.json]
// Memory is read from /proc: VmHWM (peak resident) after resetting it just before load().
import { readFileSync, writeFileSync } from 'node:fs';
import Supercluster from 'supercluster';

const [pointsFile, radius, extent, minZoom, maxZoom, tilesFile] = process.argv.slice(2);
const coords = new Float64Array(readFileSync(pointsFile).buffer.slice(0));
const features = [];
for (let i = 0; i < coords.length; i += 2) {
  features.push({ type: 'Feature', properties: null, geometry: { type: 'Point', coordinates: [coords[i], coords[i + 1]] } });
}

const statusMb = (key) => {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${key}:`));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
};

global.gc?.();
writeFileSync('/proc/self/clear_refs', '5');
const rssBefore = statusMb('VmRSS');
const started = process.hrtime.bigint();
const index = new Supercluster({ radius: Number(radius), extent: Number(extent), minZoom: Number(minZoom), maxZoom: Number(maxZoom) });
index.load(features);
const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
const peakMb = statusMb('VmHWM');
const result = { build_ms: buildMs, peak_mb: peakMb, growth_mb: peakMb - rssBefore, rss_mb: statusMb('VmRSS') };

if (tilesFile) {
  const perZoom = {};
  for (const [z, x, y] of JSON.parse(readFileSync(tilesFile, 'utf8'))) {
    const t = process.hrtime.bigint();
    const tile = index.getTile(z, x, y);
    JSON.stringify(tile ? tile.features : []);
    (perZoom[z] ??= []).push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const pct = (values, p) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  };
  result.zooms = Object.fromEntries(Object.entries(perZoom).map(([z, v]) => [z, { p50: pct(v, 0.5), p99: pct(v, 0.99) }]));
}
console.log(JSON.stringify(result));
