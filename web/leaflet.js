// leaflet.js – Leaflet for the page's modules: the minified build is a classic script that
// defines the global `L` (Leaflet ships its ES module unminified only); each page loads it,
// deferred, before its first module, so it has run by the time any module does.

const L = globalThis.L;
if (!L || typeof L.map !== 'function') {
  throw new Error('Leaflet is not loaded: the page must load /vendor/leaflet/leaflet.js before its modules');
}

export default L;
