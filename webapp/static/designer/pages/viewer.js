// Read-only diagram: a version's heat map, or an instance's tokens and finished path.
const canvas = document.getElementById('canvas');

function parse(name) {
  return canvas.dataset[name] ? JSON.parse(canvas.dataset[name]) : null;
}

async function start() {
  const helpers = await import(canvas.dataset.lib + 'viewer.js');
  const viewer = helpers.createViewer(canvas);
  const response = await fetch(canvas.dataset.xmlUrl, { credentials: 'same-origin' });
  await helpers.importWithLayout(viewer, await response.text());
  viewer.get('canvas').zoom('fit-viewport');
  const heat = parse('heat');
  if (heat) {
    const max = Math.max(1, ...Object.values(heat));
    for (const [id, n] of Object.entries(heat)) {
      helpers.mark(viewer, [id], n * 3 > max * 2 ? 'heat-high' : n * 3 > max ? 'heat-mid' : 'heat-low');
      helpers.badge(viewer, id, String(n), 'heat');
    }
  }
  helpers.mark(viewer, parse('finished'), 'path-done');
  helpers.mark(viewer, parse('waiting'), 'token-here');
  (parse('waiting') || []).forEach((id) => helpers.badge(viewer, id, '●', 'token'));
  canvas.dataset.ready = '1';
}

start();
