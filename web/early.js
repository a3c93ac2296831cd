// early.js – a classic script in <head>, run before the first paint: marks <html> with the
// view the URL asks for, so that the coverage block has its place from the start instead of
// pushing the panel down when the modules have loaded (app.js takes over and removes the mark).

if (/(?:^#|&)mode=coverage(?:&|$)/.test(window.location.hash)) {
  document.documentElement.classList.add('start-coverage');
}
