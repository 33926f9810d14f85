import zhCN from './zh-cn.js';

// Chinese unless the page is in English (the user chose English: <html lang="en">).
export function translate(template, replacements) {
  replacements = replacements || {};
  const english = document.documentElement.lang === 'en';
  const text = (!english && zhCN[template]) || template;
  return text.replace(/{([^}]+)}/g, (_, key) => replacements[key] || '{' + key + '}');
}

export const translateModule = { translate: ['value', translate] };

// Markers for findings (lint), tokens and finished elements; overlays for counts.
export function mark(viewer, elementIds, marker) {
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  (elementIds || []).forEach((id) => { if (registry.get(id)) canvas.addMarker(id, marker); });
}

export function clearMarks(viewer, marker) {
  const canvas = viewer.get('canvas');
  viewer.get('elementRegistry').getAll().forEach((el) => canvas.removeMarker(el.id, marker));
}

// A badge on an element; `type` lets a page remove its badges again (overlays.remove({type})).
export function badge(viewer, elementId, text, className, type) {
  const registry = viewer.get('elementRegistry');
  if (!registry.get(elementId)) return null;
  const node = document.createElement('span');
  node.className = 'dz-badge ' + (className || '');
  node.textContent = text;
  viewer.get('overlays').add(elementId, type || 'badge', { position: { top: -10, right: 10 }, html: node });
  return node;
}

export function select(viewer, elementId) {
  const element = viewer.get('elementRegistry').get(elementId);
  if (!element) return;
  try { viewer.get('selection').select(element); } catch (e) { /* a viewer has no selection */ }
  const canvas = viewer.get('canvas');
  if (canvas.scrollToElement) canvas.scrollToElement(element);
}

// Files written by hand (or by other tools) may have no diagram interchange (DI) part;
// bpmn-js cannot draw those, so a layout is generated for display and editing.
export async function importWithLayout(viewer, xml) {
  const { layoutProcess } = await import('bpmn-auto-layout');
  if (!/BPMNDiagram/.test(xml)) {
    xml = await layoutProcess(xml);
  }
  return viewer.importXML(xml);
}
