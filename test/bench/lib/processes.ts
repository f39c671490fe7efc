import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// Every process the benchmark starts is registered here and stopped by its pid, whatever happens.

const started = new Set<ChildProcess>();

export interface Started {
  child: ChildProcess;
  pid: number;
  name: string;
}

/** Spawns `node args...` with its stdout and stderr appended to logFile. */
export function startNode(name: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Started {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ...args], { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  started.add(child);
  child.once('exit', () => started.delete(child));
  return { child, pid: child.pid, name };
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. */
export async function stop(proc: Started, graceMs = 15_000): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(proc.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Kills (by pid) whatever is still running: the benchmark's last word on error or interrupt. */
export function killAll(): void {
  for (const child of started) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls url until it answers 2xx (or the process exits, or timeoutMs passes). */
export async function waitForHttp(url: string, proc: Started, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode} before it answered ${url}`);
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok || response.status === 404) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs} ms`);
}

const ticksPerSecond = 100;

/** User plus system CPU time of a process so far, in microseconds (from /proc/<pid>/stat). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3, utime 14 and stime 15 (1-based over the whole line).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / ticksPerSecond;
}

/** Resident set size now and its peak so far (VmRSS, VmHWM), in MiB. */
export function memory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** Resident memory of a process by kind (/proc/<pid>/smaps_rollup), in MiB: anonymous (heaps, malloc) and file-backed. */
export function residentByKind(pid: number): { anonymousMiB: number; fileMiB: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  return { anonymousMiB: kib('Anonymous') / 1024, fileMiB: (kib('Rss') - kib('Anonymous')) / 1024 };
}

/** pid and every process descended from it (an embedded database in a child process counts too). */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${tree[i]}/task`);
    } catch {
      continue; // gone
    }
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${tree[i]}/task/${task}/children`, 'utf8').trim();
        if (children) tree.push(...children.split(' ').map(Number));
      } catch {
        // the thread ended
      }
    }
  }
  return tree;
}

/** CPU time (every thread) of a process and its descendants so far, in microseconds. */
export function treeCpuMicros(pid: number): number {
  return processTree(pid).reduce((sum, member) => sum + tryRead(() => cpuMicros(member)), 0);
}

/** Resident set size of a process (every thread) and its descendants together, in MiB. */
export function treeRssMiB(pid: number): number {
  return processTree(pid).reduce((sum, member) => sum + tryRead(() => memory(member).rssMiB), 0);
}

const tryRead = (read: () => number) => {
  try {
    return read();
  } catch {
    return 0; // the process ended between listing and reading
  }
};

/** Samples the RSS of each pid's process tree every intervalMs until stopped; returns each one's peak in MiB. */
export function sampleRss(pids: number[], intervalMs = 100): { stop(): Map<number, number> } {
  const peaks = new Map<number, number>(pids.map((pid) => [pid, 0]));
  const take = () => {
    for (const pid of pids) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, treeRssMiB(pid)));
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return peaks;
    },
  };
}
