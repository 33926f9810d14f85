// Read-only diagram for instance views, heat maps and diffs.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import { translateModule } from './common.js';

export { mark, clearMarks, badge, select, importWithLayout } from './common.js';

export function createViewer(canvas) {
  return new NavigatedViewer({
    container: canvas,
    additionalModules: [translateModule],
    moddleExtensions: { camunda: camundaModdle },
  });
}
