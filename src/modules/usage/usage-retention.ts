import type { Logger } from '../../shared/logger.ts';
import type { UsageStore } from './usage-store.ts';

const RETENTION_EVERY_MS = 6 * 3_600_000;
const FIRST_CHECK_AFTER_MS = 60_000;

/** Drops usage past the retention a minute after start and then every few hours; returns the stop. */
export function scheduleUsageRetention(store: UsageStore, logger: Logger): () => void {
  const enforce = () => {
    store.enforceRetention(new Date()).then(
      (dropped) => dropped.length > 0 && logger.info({ dropped }, 'usage: dropped events past the retention'),
      (error: unknown) => logger.warn({ err: error }, 'usage: retention check failed; it runs again later'),
    );
  };
  const first = setTimeout(enforce, FIRST_CHECK_AFTER_MS);
  const retention = setInterval(enforce, RETENTION_EVERY_MS);
  first.unref();
  retention.unref();
  return () => {
    clearTimeout(first);
    clearInterval(retention);
  };
}
