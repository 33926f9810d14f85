// Read-only diagram: a version's heat map, or an instance's tokens and finished path.
const canvas = document.getElementById('canvas');

function parse(name) {
  return canvas.dataset[name] ? JSON.parse(canvas.dataset[name]) : null;
}

// Incidents on their elements: a red badge with the count; a click opens what failed, with
// 重试 for a timer (a form posting to the retry route) and 去处理 for a failed step.
function incidentBox(marks) {
  const box = document.createElement('div');
  box.className = 'dz-incident-box';
  box.hidden = true;
  for (const mark of marks) {
    const item = document.createElement('div');
    item.className = 'dz-incident';
    const head = document.createElement('strong');
    head.textContent = mark.label;
    item.append(head);
    if (mark.instance) item.append(` · ${canvas.dataset.instanceLabel} #${mark.instance}`);
    const message = document.createElement('div');
    message.className = 'meta';
    message.textContent = mark.message;
    item.append(message);
    if (mark.retry_url) {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = mark.retry_url;
      for (const [name, value] of [['csrf_token', canvas.dataset.csrf], ['next', canvas.dataset.next]]) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      const button = document.createElement('button');
      button.type = 'submit';
      button.textContent = canvas.dataset.retryLabel;
      form.append(button);
      item.append(form);
    } else if (mark.resolve_url) {
      const link = document.createElement('a');
      link.href = mark.resolve_url;
      link.textContent = canvas.dataset.resolveLabel;
      item.append(link);
    }
    box.append(item);
  }
  return box;
}

function showIncidents(helpers, viewer, marks) {
  const byElement = new Map();
  for (const mark of marks) {
    byElement.set(mark.element_id, (byElement.get(mark.element_id) || []).concat([mark]));
  }
  for (const [id, found] of byElement) {
    helpers.mark(viewer, [id], 'incident-here');
    if (!viewer.get('elementRegistry').get(id)) continue;
    // Top left, clear of the token and heat badges (top right).
    const badge = document.createElement('span');
    badge.className = 'dz-badge incident';
    badge.textContent = `⚠ ${found.length}`;
    viewer.get('overlays').add(id, 'incident', { position: { top: -12, left: -12 }, html: badge, scale: false });
    badge.title = found.map((m) => m.label).join('\n');
    badge.setAttribute('role', 'button');
    badge.dataset.element = id;
    const box = incidentBox(found);
    viewer.get('overlays').add(id, 'incident', { position: { top: 20, left: 0 }, html: box, scale: false });
    badge.addEventListener('click', () => { box.hidden = !box.hidden; });
  }
}

async function start() {
  const helpers = await import(canvas.dataset.lib + 'viewer.js');
  const viewer = helpers.createViewer(canvas);
  const response = await fetch(canvas.dataset.xmlUrl, { credentials: 'same-origin' });
  await helpers.importWithLayout(viewer, await response.text());
  // The page's styles may still be arriving: measure the container again before fitting.
  viewer.get('canvas').resized();
  viewer.get('canvas').zoom('fit-viewport', 'auto');
  const heat = parse('heat');
  if (heat) {
    const max = Math.max(1, ...Object.values(heat));
    for (const [id, n] of Object.entries(heat)) {
      helpers.mark(viewer, [id], n * 3 > max * 2 ? 'heat-high' : n * 3 > max ? 'heat-mid' : 'heat-low');
      helpers.badge(viewer, id, String(n), 'heat');
    }
  }
  showIncidents(helpers, viewer, parse('incidents') || []);
  helpers.mark(viewer, parse('finished'), 'path-done');
  helpers.mark(viewer, parse('waiting'), 'token-here');
  (parse('waiting') || []).forEach((id) => helpers.badge(viewer, id, '●', 'token'));
  canvas.dataset.ready = '1';
}

start();
