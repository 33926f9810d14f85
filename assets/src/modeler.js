// bpmn-js modeler with the Camunda 7 properties panel (forms, assignment, timers, multi-instance)
// and the 会签 / 或签 / 比例签 choice of multi-instance user tasks (signing.js).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import { translateModule } from './common.js';
import { signingModule } from './signing.js';

export { mark, clearMarks, badge, select, importWithLayout } from './common.js';

export function createModeler(canvas, panel) {
  return new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: panel },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule,
      translateModule,
      signingModule,
    ],
    moddleExtensions: { camunda: camundaModdle },
  });
}
