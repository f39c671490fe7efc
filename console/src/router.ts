import { useEffect, useState } from 'react';

const base = '/console';

/** The path under /console the address bar shows, e.g. "/t/ten_1/keys". */
function currentPath(): string {
  const path = window.location.pathname;
  return path.startsWith(base) ? path.slice(base.length) || '/' : '/';
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = `${base}${to}`;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return path;
}

export const href = (to: string) => `${base}${to}`;
