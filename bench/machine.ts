/** What the figures were measured on. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface MachineInfo {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly loadAverage: readonly number[];
  readonly java?: string;
  readonly gitCommit?: string;
}

/** stdout, or stderr when stdout is empty (`java -version` writes to stderr). */
function quiet(command: string, args: string[]): string | undefined {
  const out = spawnSync(command, args, { encoding: 'utf8' });
  if (out.status !== 0) return undefined;
  return out.stdout.trim() || out.stderr.trim() || undefined;
}

export function machineInfo(): MachineInfo {
  const java = quiet('java', ['-version'])?.split('\n')[0];
  const gitCommit = quiet('git', ['rev-parse', '--short', 'HEAD']);
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    ...(java && { java }),
    ...(gitCommit && { gitCommit }),
  };
}
