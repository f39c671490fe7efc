import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface TenantTable {
  id: string;
  name: string;
  plan_id: string;
  status: Generated<'active' | 'suspended'>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type TenantRow = Selectable<TenantTable>;
export type NewTenant = Insertable<TenantTable>;
export type TenantUpdate = Updateable<TenantTable>;
