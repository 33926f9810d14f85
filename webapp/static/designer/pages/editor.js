// The editor page: load the XML, edit it, validate (findings beside and on the diagram), deploy.
const root = document.getElementById('editor');
const kind = root.dataset.kind;
const lib = root.dataset.lib;
const statusLine = document.getElementById('status');
const findingsList = document.getElementById('findings');
// The page's words in the reader's language (the template's gettext), with %(name)s filled in.
const LABELS = JSON.parse(root.dataset.labels || '{}');
function t(key, values) {
  return (LABELS[key] || key).replace(/%\((\w+)\)s/g, (_, name) => String((values || {})[name] ?? ''));
}

const EMPTY_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_new" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="new_process" name="新流程" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="开始" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="new_process">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1"><dc:Bounds x="180" y="160" width="36" height="36" /></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;

const EMPTY_DMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_new" name="决策" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="new_decision" name="新决策表">
    <decisionTable id="DecisionTable_1">
      <input id="Input_1" label="输入"><inputExpression id="InputExpression_1" typeRef="string"><text>value</text></inputExpression></input>
      <output id="Output_1" label="结果" name="result" typeRef="string" />
    </decisionTable>
  </decision>
</definitions>`;

let editor;
let bpmnHelpers;

function say(text) { statusLine.textContent = text; }

async function loadXml() {
  if (!root.dataset.xmlUrl) return kind === 'decision' ? EMPTY_DMN : EMPTY_BPMN;
  const response = await fetch(root.dataset.xmlUrl, { credentials: 'same-origin' });
  if (!response.ok) throw new Error('HTTP ' + response.status);
  return response.text();
}

async function currentXml() {
  const { xml } = await editor.saveXML({ format: true });
  return xml;
}

function showFindings(findings) {
  findingsList.replaceChildren();
  if (bpmnHelpers) {
    bpmnHelpers.clearMarks(editor, 'lint-error');
    bpmnHelpers.clearMarks(editor, 'lint-warning');
    editor.get('overlays').remove({ type: 'finding' });
  }
  if (!findings.length) {
    const li = document.createElement('li');
    li.className = 'ok';
    li.textContent = t('ok');
    findingsList.append(li);
    return;
  }
  const onDiagram = new Map();  // element id -> {error, texts}: one marker and badge each
  for (const f of findings) {
    const li = document.createElement('li');
    li.className = f.severity;
    const sev = document.createElement('span');
    sev.className = 'sev';
    sev.textContent = t(f.severity === 'error' ? 'error' : (f.severity === 'info' ? 'info' : 'warning'));
    li.append(sev);
    if (f.element_id) {
      const code = document.createElement('code');
      code.textContent = f.element_id;
      li.append(' ', code);
    }
    if (f.line) li.append(' ' + t('line', { n: f.line }));
    const msg = document.createElement('div');
    msg.className = 'msg';
    msg.textContent = f.message;
    li.append(msg);
    if (f.hint) {
      const hint = document.createElement('div');
      hint.className = 'hint';
      hint.textContent = root.dataset.hintLabel + f.hint;
      li.append(hint);
    }
    if (f.element_id && bpmnHelpers) {
      if (f.severity !== 'info') {  // a translation (JUEL read as Python) is no problem
        const seen = onDiagram.get(f.element_id) || { error: false, texts: [] };
        seen.error = seen.error || f.severity === 'error';
        seen.texts.push(f.hint ? `${f.message}\n${root.dataset.hintLabel}${f.hint}` : f.message);
        onDiagram.set(f.element_id, seen);
      }
      li.addEventListener('click', () => bpmnHelpers.select(editor, f.element_id));
    }
    findingsList.append(li);
  }
  // On the diagram: the worst severity marks the element; its badge shows every message.
  for (const [id, seen] of onDiagram) {
    const marker = seen.error ? 'lint-error' : 'lint-warning';
    bpmnHelpers.mark(editor, [id], marker);
    const badge = bpmnHelpers.badge(editor, id, String(seen.texts.length), 'finding ' + marker, 'finding');
    if (badge) badge.title = seen.texts.join('\n\n');
  }
}

async function post(url) {
  const body = { filename: document.getElementById('filename').value.trim(), xml: await currentXml() };
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': root.dataset.csrf },
    body: JSON.stringify(body),
  });
  return response.json();
}

async function validate() {
  say(t('validating'));
  const report = await post(root.dataset.validateUrl);
  showFindings(report.findings);
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  say(errors ? t('has_errors', { n: errors }) : t('valid', { n: warnings }));
  return report;
}

async function deploy() {
  say(t('deploying'));
  const report = await post(root.dataset.deployUrl);
  showFindings(report.findings);
  if (!report.ok) { say(t('not_deployed')); return; }
  say(report.created ? t('deployed', { n: report.version }) : t('unchanged'));
  window.location.href = report.url;
}

async function download() {
  const blob = new Blob([await currentXml()], { type: 'application/xml' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = document.getElementById('filename').value.trim() || 'diagram.bpmn';
  a.click();
  URL.revokeObjectURL(a.href);
}

// ---------------------------------------------------------------- rehearsing the draft
// The page keeps the steps; each change replays the whole draft on the server, from its start,
// in a throwaway database (nothing is kept there between two clicks).
let rehearsalActions = [];
const ACTION_WORDS = { start: 'act_start', complete: 'act_complete', move: 'act_move' };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function rehearse() {
  const status = document.getElementById('rehearse-status');
  let data;
  try {
    data = JSON.parse(document.getElementById('rehearse-data').value || '{}');
  } catch (err) {
    status.textContent = t('bad_start_data');
    return;
  }
  status.textContent = t('rehearsing');
  const body = { filename: document.getElementById('filename').value.trim(), xml: await currentXml(),
    data, actions: rehearsalActions };
  const response = await fetch(root.dataset.rehearseUrl, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': root.dataset.csrf },
    body: JSON.stringify(body),
  });
  const report = await response.json();
  if (!report.ok) {
    rehearsalActions.pop();
    status.textContent = report.error || t('rehearse_failed');
    if (report.findings) showFindings(report.findings);
    return;
  }
  showRehearsal(report);
}

function showRehearsal(report) {
  const list = document.getElementById('rehearse-steps');
  list.replaceChildren();
  report.steps.forEach((step, index) => {
    const li = el('li');
    li.dataset.action = step.action;
    const what = t(ACTION_WORDS[step.action]) + (step.subject ? ' ' + step.subject : '');
    li.append(el('div', 'head', `${what} · ${step.at} · ${step.status}`));
    if (step.fired.length) {
      li.append(el('div', 'fired', t('fired') +
        step.fired.map((f) => t('due_in', { name: f.name, due: f.due })).join(t('separator'))));
    }
    if (step.error) li.append(el('div', 'error', step.error));
    const last = index === report.steps.length - 1;
    const tasks = el('ul', 'tasks');
    for (const task of step.tasks) {
      const item = el('li');
      item.dataset.element = task.element_id;
      item.append(t('task', { name: task.name, id: task.element_id }));
      if (task.offered_to) item.append(t('offered', { who: task.offered_to }));
      if (task.assignee) item.append(t('assignee', { who: task.assignee }));
      if (task.due) {
        item.append(t('due', { due: task.due }) + ' ');
        item.append(el('span', 'sla-' + task.sla, task.sla_label));
      }
      if (last && !step.error) {
        const input = el('input', 'task-data');
        input.placeholder = t('data_hint');
        const button = el('button', 'complete', t('act_complete'));
        button.type = 'button';
        button.addEventListener('click', () => {
          let data = {};
          try { data = JSON.parse(input.value || '{}'); } catch (err) {
            document.getElementById('rehearse-status').textContent = t('bad_task_data');
            return;
          }
          rehearsalActions.push({ do: 'complete', element_id: task.element_id, data });
          rehearse();
        });
        item.append(' ', input, ' ', button);
      }
      tasks.append(item);
    }
    if (step.timers.length) {
      tasks.append(el('li', 'meta', t('waiting_timers') +
        step.timers.map((w) => t('due_in', { name: w.name, due: w.due })).join(t('separator'))));
    }
    li.append(tasks);
    list.append(li);
  });
  const lastStep = report.steps[report.steps.length - 1];
  document.getElementById('rehearse-status').textContent = report.stopped
    ? t('stopped') + report.stopped : t('summary', { n: report.steps.length, at: lastStep.at });
  document.getElementById('rehearse-time').hidden = false;
  if (bpmnHelpers) {  // where the run waits now, on the diagram
    bpmnHelpers.clearMarks(editor, 'token-here');
    bpmnHelpers.mark(editor, lastStep.tasks.map((task) => task.element_id).concat(
      lastStep.timers.map((w) => w.element_id)), 'token-here');
  }
}

function setUpRehearsal() {
  const section = document.getElementById('rehearsal');
  if (!section) return;
  document.getElementById('rehearse-open').addEventListener('click', () => {
    section.hidden = false;
    section.scrollIntoView();
  });
  document.getElementById('rehearse-start').addEventListener('click', () => {
    rehearsalActions = [];
    rehearse();
  });
  section.querySelectorAll('[data-move]').forEach((button) => button.addEventListener('click', () => {
    rehearsalActions.push({ do: 'move', ...JSON.parse(button.dataset.move) });
    rehearse();
  }));
  document.getElementById('rehearse-move-days').addEventListener('click', () => {
    const days = parseInt(document.getElementById('rehearse-days').value, 10);
    rehearsalActions.push({ do: 'move', days: Number.isFinite(days) ? days : 0 });
    rehearse();
  });
  document.getElementById('rehearse-undo').addEventListener('click', () => {
    rehearsalActions.pop();
    rehearse();
  });
}

async function start() {
  const canvas = document.getElementById('canvas');
  if (kind === 'decision') {
    const { createDmnModeler } = await import(lib + 'dmn.js');
    editor = createDmnModeler(canvas);
  } else {
    bpmnHelpers = await import(lib + 'modeler.js');
    editor = bpmnHelpers.createModeler(canvas, document.getElementById('properties'));
  }
  try {
    const xml = await loadXml();
    if (bpmnHelpers) await bpmnHelpers.importWithLayout(editor, xml);
    else await editor.importXML(xml);
    if (bpmnHelpers) {
      const view = editor.get('canvas');
      view.zoom('fit-viewport', 'auto');
      view.scroll({ dx: 90, dy: 0 }); // clear of the palette
    }
    say(t('loaded'));
    root.dataset.ready = '1';
  } catch (err) {
    say(t('cannot_load') + err.message);
  }
  document.getElementById('validate').addEventListener('click', validate);
  document.getElementById('deploy').addEventListener('click', deploy);
  document.getElementById('download').addEventListener('click', download);
  setUpRehearsal();
}

start();
