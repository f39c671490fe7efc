import { createContext, useContext } from 'react';
import type { ViewerQuery } from '../../client/src/generated/graphql.ts';

export type Viewer = ViewerQuery['viewer'];

/** Who is signed in; screens hide what the viewer may not do (the gateway refuses it anyway). */
export const ViewerContext = createContext<Viewer | undefined>(undefined);

export function useViewer(): Viewer {
  const viewer = useContext(ViewerContext);
  if (viewer === undefined) throw new Error('useViewer outside a signed-in console');
  return viewer;
}

/** The platform, a tenant admin user, or a key with the admin scope may change things; others read. */
export function canManage(viewer: Viewer): boolean {
  if (viewer.kind === 'PLATFORM_ADMIN') return true;
  if (viewer.kind === 'USER') return viewer.role === 'admin';
  return viewer.scopes.includes('admin');
}
