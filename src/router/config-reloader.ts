import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { loadInferenceFile, type InferenceConfigFile } from '../config.ts';

export interface ConfigWatch {
  /** Re-reads the file now, as SIGHUP does. */
  reload(): Promise<void>;
  close(): void;
}

// Editors and config management replace files in bursts (write, rename, chmod); one read after
// the burst settles sees the finished file.
const settleMs = 100;

/**
 * Re-reads the inference YAML on SIGHUP and whenever the file changes. A valid file goes to
 * `onValid`; an invalid one goes to `onInvalid` with the ConfigError that names each wrong field,
 * and the caller keeps running on the config it has. A change event whose content is identical to
 * the last valid read is ignored; SIGHUP always re-applies.
 */
export function watchInferenceConfig(
  path: string,
  onValid: (file: InferenceConfigFile) => void,
  onInvalid: (error: Error) => void,
): ConfigWatch {
  const absolute = resolve(path);
  // The caller loaded this file at start-up; its current text is the baseline a change is measured against.
  let lastText: string | undefined;
  try {
    lastText = readFileSync(absolute, 'utf8');
  } catch {
    lastText = undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const apply = async (force: boolean): Promise<void> => {
    const text = await readFile(absolute, 'utf8').catch(() => undefined);
    if (!force && text !== undefined && text === lastText) return;
    try {
      const file = loadInferenceFile(absolute);
      lastText = text;
      onValid(file);
    } catch (error) {
      onInvalid(error instanceof Error ? error : new Error(String(error)));
    }
  };
  // Reads run one after another so an older read can never land after a newer one.
  const enqueue = (force: boolean) => {
    running = running.then(() => apply(force));
    return running;
  };

  const onSighup = () => void enqueue(true);
  process.on('SIGHUP', onSighup);

  // Watch the directory, not the file: a file replaced by rename would orphan a file watcher.
  const name = basename(absolute);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(absolute), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => void enqueue(false), settleMs);
    });
    watcher.unref();
  } catch (error) {
    onInvalid(new Error(`cannot watch ${absolute} for changes (SIGHUP still reloads): ${String(error)}`));
  }

  return {
    reload: () => enqueue(true),
    close: () => {
      clearTimeout(timer);
      process.off('SIGHUP', onSighup);
      watcher?.close();
    },
  };
}
