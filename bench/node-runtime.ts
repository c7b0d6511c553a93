/**
 * The Node binaries the runtime figures compare (Lambda's nodejs22.x and nodejs24.x), found the same way on every
 * clone and with nothing added to package.json:
 *
 * - the Node running the bench, when it has the major version asked for (npm scripts run the `node@22`
 *   devDependency, so Node 22 is always this one);
 * - otherwise `BENCH_NODE_<major>` (a path to a `node` binary), when set;
 * - otherwise the npm package `node@<major>`, installed on first use into `<os temp dir>/agent-task-queue-node<major>`
 *   (`npm install --prefix <that folder> node@<major>`, about 50 MB downloaded once) and reused by later runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';

export interface NodeRuntime {
  readonly major: number;
  /** The binary. */
  readonly path: string;
  /** `process.version` of that binary. */
  readonly version: string;
  /** How it was found, for the report. */
  readonly source: string;
}

/** The cache folder of the npm package `node@<major>`. */
export const nodeCacheDir = (major: number) => path.join(os.tmpdir(), `agent-task-queue-node${major}`);

function versionOf(binary: string): string | undefined {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

function checked(major: number, binary: string, source: string): NodeRuntime {
  const version = versionOf(binary);
  if (!version) throw new Error(`${binary} (${source}) does not run`);
  if (!version.startsWith(`v${major}.`))
    throw new Error(`${binary} (${source}) is ${version}, not Node ${major}`);
  return { major, path: binary, version, source };
}

/** A Node binary of major version `major`, installed into the cache folder when it is not there yet. */
export function nodeRuntime(major: number, progress: (line: string) => void = () => {}): NodeRuntime {
  if (Number(process.versions.node.split('.')[0]) === major) {
    return { major, path: process.execPath, version: process.version, source: 'the Node running the bench' };
  }
  const fromEnv = process.env[`BENCH_NODE_${major}`];
  if (fromEnv) return checked(major, fromEnv, `BENCH_NODE_${major}`);
  const dir = nodeCacheDir(major);
  const binary = path.join(
    dir,
    'node_modules',
    'node',
    'bin',
    process.platform === 'win32' ? 'node.exe' : 'node',
  );
  if (!existsSync(binary) || !versionOf(binary)) {
    progress(`  installing node@${major} into ${dir} (once)`);
    mkdirSync(dir, { recursive: true });
    // A package.json of its own, so that npm installs here and not into a project above the temp folder.
    if (!existsSync(path.join(dir, 'package.json'))) {
      writeFileSync(
        path.join(dir, 'package.json'),
        `${JSON.stringify({ name: `node${major}`, private: true })}\n`,
      );
    }
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = spawnSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund', `node@${major}`], {
      encoding: 'utf8',
      cwd: dir,
    });
    if (out.status !== 0 || !existsSync(binary)) {
      throw new Error(
        `npm install node@${major} into ${dir} failed: ${(out.stderr || out.stdout).slice(-500)}`,
      );
    }
  }
  return checked(major, binary, `npm package node@${major} in ${dir}`);
}
