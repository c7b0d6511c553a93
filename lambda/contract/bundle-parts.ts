/**
 * Parts of a handler bundle that only some stacks use, and how lib/ leaves them out. No imports (see
 * environment.ts).
 *
 * The consumer loads the Lambda client (Lambda agents) and the Secrets Manager client (HTTP agents with an auth
 * secret) with `import()`, on first use. esbuild's CommonJS output has no chunks, so a lazily imported module is
 * still in the bundle, and Node compiles it at every cold start whether or not it ever runs: about 140 KB of
 * minified code, 20–30 ms of init CPU. lib/ knows at synth which agents a consumer has; for a part no agent
 * needs, it defines the part's flag as {@link OMITTED} (esbuild `define`). The branch that imports the client is
 * then dead code, and esbuild leaves the client out of the bundle.
 *
 * Unbundled (tests, tsx) and in a bundle built without the define, the flag is undefined: every part is there.
 */

export const BundlePart = {
  /** `@aws-sdk/client-lambda`: agents of kind `lambda`. */
  LambdaAgents: 'lambda-agents',
  /** `@aws-sdk/client-secrets-manager`: HTTP agents with an auth secret. */
  AgentSecrets: 'agent-secrets',
} as const;
export type BundlePart = (typeof BundlePart)[keyof typeof BundlePart];

/** The value of a left-out part's flag. */
export const OMITTED = 'omitted';

/**
 * The expression each part's code compares with {@link OMITTED}, written out as it is in the handler's code
 * (esbuild replaces the expression, so it must be spelled the same there).
 */
export const BUNDLE_PART_FLAGS: Readonly<Record<BundlePart, string>> = {
  'lambda-agents': 'process.env.TASKQ_BUNDLE_LAMBDA_AGENTS',
  'agent-secrets': 'process.env.TASKQ_BUNDLE_AGENT_SECRETS',
};

/** The esbuild `define` that leaves `parts` out of a bundle. */
export function omitDefines(parts: readonly BundlePart[]): Record<string, string> {
  return Object.fromEntries(parts.map((part) => [BUNDLE_PART_FLAGS[part], JSON.stringify(OMITTED)]));
}

/** What a bundle built without `part` answers when it is asked for it anyway. */
export function omittedPartMessage(part: BundlePart): string {
  return `this function was bundled without ${part} (${BUNDLE_PART_FLAGS[part]}): its stack had no agent that needs it when it was synthesized`;
}
