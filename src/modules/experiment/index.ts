// The experiment module's door: what other modules and the app may use. Everything else in the folder is private.
export { ExperimentService } from './experiment.service.ts';
export type { Assignment } from './experiment.service.ts';
export type { ExperimentTable } from './experiment.table.ts';
