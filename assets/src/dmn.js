// dmn-js modeler for decision tables.
import DmnModeler from 'dmn-js/lib/Modeler';
import { translateModule } from './common.js';

export function createDmnModeler(canvas) {
  return new DmnModeler({
    container: canvas,
    common: { additionalModules: [translateModule] },
  });
}
