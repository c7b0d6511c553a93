/** Reads handler configuration from the environment; a missing variable is a deployment bug, so fail loudly. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} environment variable is not set`);
  return value;
}

export function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw new Error(`${name} environment variable must be a number, but '${raw}' was set`);
  return value;
}
