/**
 * Reads handler configuration from the environment the construct set (see lambda/contract/environment.ts).
 * A missing variable is a deployment bug, so fail loudly: handlers keep no fallbacks of their own.
 */
import type { EnvName } from '../contract/environment';

export function requireEnv(name: EnvName): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} environment variable is not set`);
  return value;
}

export function numberEnv(name: EnvName): number {
  const raw = requireEnv(name);
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw new Error(`${name} environment variable must be a number, but '${raw}' was set`);
  return value;
}

/** A comma-separated list, empty entries dropped. */
export function listEnv(name: EnvName): string[] {
  return requireEnv(name).split(',').filter(Boolean);
}
