// CPU use of this machine while a benchmark scenario runs, split into this
// process tree (Node, vite and the Chromium it launched) and everything else,
// from /proc (Linux only). Other processes compete for the same cores and
// make timings noisy; the report states how much they used.
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc times (USER_HZ; 100 on Linux on x86 and arm). */
const TICKS_PER_SECOND = 100;

/** Parent pid of every process, or null without /proc. */
function parentPids() {
  const parents = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process exited while we listed /proc.
    }
  }
  return parents;
}

/** CPU ticks (user + system) used so far by this process and its descendants that are still alive. */
function ownTreeTicks(processes) {
  const isOurs = (pid) => {
    for (let p = pid, depth = 0; p > 1 && depth < 20; p = processes.get(p)?.parent ?? 0, depth++) if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, info] of processes) if (isOurs(pid)) total += info.ticks;
  return total;
}

/** Busy and total ticks of all cores from the first line of /proc/stat. */
function machineTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = fields[3] + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Starts a measurement. The returned function ends it and returns the mean
 * number of cores busy with this benchmark and with other processes, or
 * null where /proc is missing. A process of the benchmark that exits in
 * between (a closed worker) counts as another process.
 */
export function startLoadSample() {
  const processes = parentPids();
  if (!processes) return () => null;
  let start;
  try {
    start = { machine: machineTicks(), own: ownTreeTicks(processes), at: process.hrtime.bigint() };
  } catch {
    return () => null;
  }
  return () => {
    const after = parentPids();
    if (!after) return null;
    const machine = machineTicks();
    const seconds = Number(process.hrtime.bigint() - start.at) / 1e9;
    if (seconds <= 0) return null;
    const busyCores = (machine.busy - start.machine.busy) / TICKS_PER_SECOND / seconds;
    const ownCores = Math.max(0, (ownTreeTicks(after) - start.own) / TICKS_PER_SECOND / seconds);
    return { seconds, busyCores, ownCores, otherCores: Math.max(0, busyCores - ownCores) };
  };
}

/** Returns the 1-minute load average, or null without /proc. */
export function loadAverage() {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** CPU model name from /proc/cpuinfo, or null. */
export function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line ? line.split(':').slice(1).join(':').trim() : null;
  } catch {
    return null;
  }
}
