export type { HarnessInfo, TaskCatalogue, TaskDefinition, TaskQuery } from './types.js';
export {
  builtinCatalogue,
  builtinEngineHarness,
  catalogueFromIrs,
  loadTaskCatalogue,
  readCatalogueFile,
  resolveTask,
} from './catalogue.js';
export { formatTaskDetail, formatTaskList, imageRegistry, taskListEntries } from './format.js';
export { BUILTIN_HARNESS } from './builtin-catalogue.js';
