// A description of the machine and the runtime, printed with every result table.

import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Returns the CPU model, core count, memory, kernel, Node version and load at start. */
export function describeMachine() {
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: os.totalmem() / 2 ** 30,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: os.loadavg().map((load) => load.toFixed(2)).join(', '),
  };
}

function cpuModel() {
  const fromOs = os.cpus()[0]?.model?.trim();
  if (fromOs) return fromOs;

  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('model name'));
    return line ? line.split(':')[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}
