import { useEffect, useState } from 'react';
import { ErrorAlert } from './components/ErrorAlert.tsx';
import { href, navigate, usePath } from './router.ts';
import { ApiKeys } from './screens/ApiKeys.tsx';
import { AuditLog } from './screens/AuditLog.tsx';
import { Billing } from './screens/Billing.tsx';
import { Credentials } from './screens/Credentials.tsx';
import { Inference } from './screens/Inference.tsx';
import { Models } from './screens/Models.tsx';
import { Overview } from './screens/Overview.tsx';
import { Tenants } from './screens/Tenants.tsx';
import { Usage } from './screens/Usage.tsx';
import { signOut } from './session.ts';
import { useViewer, type Viewer } from './viewer.ts';

const tenantScreens = [
  { path: 'overview', label: 'Overview' },
  { path: 'usage', label: 'Usage' },
  { path: 'keys', label: 'API keys' },
  { path: 'credentials', label: 'Provider credentials' },
  { path: 'inference', label: 'Inference' },
  { path: 'billing', label: 'Billing' },
  { path: 'audit', label: 'Audit log' },
] as const;

const platformScreens = [
  { path: 'tenants', label: 'Tenants' },
  { path: 'models', label: 'Models' },
] as const;

type Route = { area: 'tenant'; tenantId: string; screen: string } | { area: 'platform'; screen: string } | { area: 'unknown' };

function parse(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 't' && parts[1]) return { area: 'tenant', tenantId: parts[1], screen: parts[2] ?? 'overview' };
  if (parts[0] === 'platform') return { area: 'platform', screen: parts[1] ?? 'tenants' };
  return { area: 'unknown' };
}

const home = (viewer: Viewer) => (viewer.kind === 'PLATFORM_ADMIN' ? '/platform/tenants' : `/t/${encodeURIComponent(viewer.tenantId ?? '')}/overview`);

function describeViewer(viewer: Viewer): string {
  if (viewer.kind === 'PLATFORM_ADMIN') return 'Platform admin';
  if (viewer.kind === 'USER') return `${viewer.userId ?? 'user'} (${viewer.role ?? 'member'})`;
  return `API key ${viewer.apiKeyId ?? ''} (${viewer.scopes.includes('admin') ? 'admin' : 'read-only'})`;
}

export function Shell({ onSignedOut }: { onSignedOut: () => void }) {
  const viewer = useViewer();
  const path = usePath();
  const route = parse(path);
  const [signOutError, setSignOutError] = useState<unknown>();
  useEffect(() => {
    if (route.area === 'unknown') navigate(home(viewer), { replace: true });
  }, [route.area, viewer]);

  const doSignOut = async () => {
    try {
      await signOut();
      onSignedOut();
    } catch (error) {
      setSignOutError(error);
    }
  };
  const tenantId = route.area === 'tenant' ? route.tenantId : undefined;
  const current = route.area === 'unknown' ? '' : route.screen;

  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href(home(viewer))} onClick={(event) => go(event, home(viewer))}>
          Tollgate
        </a>
        <span className="muted who">{describeViewer(viewer)}</span>
        <button type="button" className="secondary" onClick={() => void doSignOut()}>
          Sign out
        </button>
      </header>
      <nav aria-label="Console">
        <ul>
          {tenantId !== undefined &&
            tenantScreens.map((screen) => (
              <li key={screen.path}>
                <NavLink to={`/t/${encodeURIComponent(tenantId)}/${screen.path}`} active={route.area === 'tenant' && current === screen.path} label={screen.label} />
              </li>
            ))}
          {viewer.kind === 'PLATFORM_ADMIN' &&
            platformScreens.map((screen) => (
              <li key={screen.path}>
                <NavLink to={`/platform/${screen.path}`} active={route.area === 'platform' && current === screen.path} label={screen.label} />
              </li>
            ))}
        </ul>
      </nav>
      <main className="content">
        <ErrorAlert error={signOutError} />
        {route.area === 'tenant' && <TenantScreen tenantId={route.tenantId} screen={route.screen} />}
        {route.area === 'platform' && <PlatformScreen screen={route.screen} />}
      </main>
    </div>
  );
}

function go(event: React.MouseEvent<HTMLAnchorElement>, to: string) {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(to);
}

function NavLink({ to, active, label }: { to: string; active: boolean; label: string }) {
  return (
    <a href={href(to)} aria-current={active ? 'page' : undefined} onClick={(event) => go(event, to)}>
      {label}
    </a>
  );
}

function TenantScreen({ tenantId, screen }: { tenantId: string; screen: string }) {
  switch (screen) {
    case 'overview':
      return <Overview tenantId={tenantId} />;
    case 'usage':
      return <Usage tenantId={tenantId} />;
    case 'keys':
      return <ApiKeys tenantId={tenantId} />;
    case 'credentials':
      return <Credentials tenantId={tenantId} />;
    case 'inference':
      return <Inference tenantId={tenantId} />;
    case 'billing':
      return <Billing tenantId={tenantId} />;
    case 'audit':
      return <AuditLog tenantId={tenantId} />;
    default:
      return <ErrorAlert error={new Error(`there is no screen "${screen}"`)} />;
  }
}

function PlatformScreen({ screen }: { screen: string }) {
  const viewer = useViewer();
  if (viewer.kind !== 'PLATFORM_ADMIN') return <ErrorAlert error={new Error('only the platform admin may open the platform screens')} />;
  if (screen === 'tenants') return <Tenants />;
  if (screen === 'models') return <Models />;
  return <ErrorAlert error={new Error(`there is no screen "${screen}"`)} />;
}
