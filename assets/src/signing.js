// 会签 / 或签 / 比例签: a group of the properties panel for multi-instance user tasks.
// The choice is written as the task's standard BPMN completionCondition, so Camunda Modeler
// opens and keeps the file; the engine reads the same texts (engine/bpm/countersign.py):
//   会签   no completionCondition (every signer signs)
//   或签   nrOfApprovedInstances >= 1
//   比例签 nrOfApprovedInstances / nrOfInstances >= 2/3
import {
  SelectEntry, TextFieldEntry, isSelectEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export const ANY_CONDITION = 'nrOfApprovedInstances >= 1';
const ANY = /^\s*nrOfApprovedInstances\s*>=\s*1\s*$/;
const RATIO = /^\s*nrOfApprovedInstances\s*\/\s*nrOfInstances\s*>=\s*(\d+(?:\.\d+)?(?:\s*\/\s*\d+)?)\s*$/;
const DEFAULT_RATIO = '2/3';

// The mode a completionCondition stands for: { mode: all|any|ratio|custom, ratio }.
export function modeOf(condition) {
  if (!condition || !condition.trim()) return { mode: 'all', ratio: null };
  if (ANY.test(condition)) return { mode: 'any', ratio: null };
  const found = RATIO.exec(condition);
  if (found) return { mode: 'ratio', ratio: found[1].replace(/\s+/g, '') };
  return { mode: 'custom', ratio: null };
}

// The ratio as the condition writes it ("2/3", "0.6") from "2/3", "0.6" or "60%"; null if
// it is not a share above 0 and at most 1.
export function parseRatio(text) {
  const written = (text || '').trim().replace('％', '%').replace('／', '/');
  let value;
  let out;
  if (/^\d+(\.\d+)?\s*%$/.test(written)) {
    value = parseFloat(written) / 100;
    out = String(Number((value).toPrecision(12)));
  } else if (/^\d+\s*\/\s*\d+$/.test(written)) {
    const [top, bottom] = written.split('/').map((part) => parseInt(part, 10));
    if (bottom <= 0) return null;
    value = top / bottom;
    out = `${top}/${bottom}`;
  } else if (/^\d+(\.\d+)?$/.test(written)) {
    value = parseFloat(written);
    out = String(Number(written));
  } else {
    return null;
  }
  return value > 0 && value <= 1 ? out : null;
}

export function conditionOf(mode, ratio) {
  if (mode === 'any') return ANY_CONDITION;
  if (mode === 'ratio') return `nrOfApprovedInstances / nrOfInstances >= ${ratio || DEFAULT_RATIO}`;
  return null;
}

function loopOf(element) {
  const loop = getBusinessObject(element).get('loopCharacteristics');
  return is(loop, 'bpmn:MultiInstanceLoopCharacteristics') ? loop : null;
}

function conditionText(element) {
  const loop = loopOf(element);
  const expression = loop && loop.get('completionCondition');
  return expression ? expression.get('body') : null;
}

function writeCondition(element, condition, bpmnFactory, commandStack) {
  const loop = loopOf(element);
  const existing = loop.get('completionCondition');
  if (!condition) {
    commandStack.execute('element.updateModdleProperties', {
      element, moddleElement: loop, properties: { completionCondition: undefined } });
  } else if (existing) {
    commandStack.execute('element.updateModdleProperties', {
      element, moddleElement: existing, properties: { body: condition } });
  } else {
    const expression = bpmnFactory.create('bpmn:FormalExpression', { body: condition });
    expression.$parent = loop;
    commandStack.execute('element.updateModdleProperties', {
      element, moddleElement: loop, properties: { completionCondition: expression } });
  }
}

function SigningMode(props) {
  const { element, id } = props;
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const current = modeOf(conditionText(element));
  const getOptions = () => {
    const options = [
      { value: 'all', label: '会签（全部签批人办理）' },
      { value: 'any', label: '或签（一人同意即可）' },
      { value: 'ratio', label: '比例签（同意人数达到比例）' },
    ];
    if (current.mode === 'custom') options.push({ value: 'custom', label: '自定义完成条件' });
    return options;
  };
  const setValue = (mode) => {
    if (mode === 'custom') return;
    writeCondition(element, conditionOf(mode, current.ratio), bpmnFactory, commandStack);
  };
  const results = `${getBusinessObject(element).get('id')}_results`;
  return SelectEntry({
    element, id, label: '会签方式', getValue: () => current.mode, setValue, getOptions,
    description: `写入多实例的完成条件（completionCondition）。签批人的表单需有 decision 字段（approve 同意 / reject 不同意）；各人办理结果存入 ${results}，供其后的网关判断，如 approved_share(${results}) >= 2/3。`,
  });
}

// Module-level: the entry validates again whenever this function changes identity.
function validateRatio(text) {
  return parseRatio(text) ? null : '请写成 2/3、0.6 或 60%，大于 0 且不超过 1';
}

function SigningRatio(props) {
  const { element, id } = props;
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const setValue = (text) => {
    const ratio = parseRatio(text);
    if (ratio) writeCondition(element, conditionOf('ratio', ratio), bpmnFactory, commandStack);
  };
  return TextFieldEntry({
    element, id, label: '同意比例', getValue: () => modeOf(conditionText(element)).ratio,
    setValue, validate: validateRatio, debounce, description: '如 2/3、0.6 或 60%',
  });
}

class SigningProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    return (groups) => {
      if (!is(element, 'bpmn:UserTask') || !loopOf(element)) return groups;
      const entries = [{ id: 'signingMode', component: SigningMode, isEdited: isSelectEntryEdited }];
      if (modeOf(conditionText(element)).mode === 'ratio') {
        entries.push({ id: 'signingRatio', component: SigningRatio, isEdited: isTextFieldEntryEdited });
      }
      const at = groups.findIndex((group) => group.id === 'multiInstance');
      groups.splice(at < 0 ? groups.length : at + 1, 0, { id: 'signing', label: '会签方式', entries });
      return groups;
    };
  }
}

SigningProvider.$inject = ['propertiesPanel'];

export const signingModule = {
  __init__: ['signingProvider'],
  signingProvider: ['type', SigningProvider],
};
