// The editor page: load the XML, edit it, validate (findings beside and on the diagram), deploy.
const root = document.getElementById('editor');
const kind = root.dataset.kind;
const lib = root.dataset.lib;
const statusLine = document.getElementById('status');
const findingsList = document.getElementById('findings');

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
    li.textContent = '没有发现问题，可以部署。';
    findingsList.append(li);
    return;
  }
  const onDiagram = new Map();  // element id -> {error, texts}: one marker and badge each
  for (const f of findings) {
    const li = document.createElement('li');
    li.className = f.severity;
    const sev = document.createElement('span');
    sev.className = 'sev';
    sev.textContent = f.severity === 'error' ? '错误' : (f.severity === 'info' ? '提示' : '警告');
    li.append(sev);
    if (f.element_id) {
      const code = document.createElement('code');
      code.textContent = f.element_id;
      li.append(' ', code);
    }
    if (f.line) li.append(` 第 ${f.line} 行`);
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
  say('正在校验…');
  const report = await post(root.dataset.validateUrl);
  showFindings(report.findings);
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  say(errors ? `有 ${errors} 个错误，不能部署` : `校验通过（${warnings} 个警告）`);
  return report;
}

async function deploy() {
  say('正在校验并部署…');
  const report = await post(root.dataset.deployUrl);
  showFindings(report.findings);
  if (!report.ok) { say('没有部署：请先修正错误'); return; }
  say(report.created ? `已部署第 ${report.version} 版` : '内容与最新版本相同，没有生成新版本');
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
    say('已载入');
    root.dataset.ready = '1';
  } catch (err) {
    say('无法载入图形：' + err.message);
  }
  document.getElementById('validate').addEventListener('click', validate);
  document.getElementById('deploy').addEventListener('click', deploy);
  document.getElementById('download').addEventListener('click', download);
}

start();
