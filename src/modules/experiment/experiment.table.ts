import type { ColumnType, Generated, Selectable } from 'kysely';

export const experimentStatuses = ['RUNNING', 'PAUSED', 'STOPPED'] as const;
export type ExperimentStatus = (typeof experimentStatuses)[number];
export const stickinessModes = ['USER', 'REQUEST'] as const;
export type Stickiness = (typeof stickinessModes)[number];

/** One arm of an experiment: requests given it go to `model` (a configured model or a route). */
export interface Variant {
  name: string;
  model: string;
  weight: number;
}

export interface ExperimentTable {
  id: string;
  /** Null: platform-wide, for every tenant without an experiment of its own on the name. */
  tenant_id: string | null;
  model: string;
  variants: ColumnType<Variant[], string, string>;
  stickiness: Stickiness;
  status: ExperimentStatus;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type ExperimentRow = Selectable<ExperimentTable>;
