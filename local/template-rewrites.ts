/**
 * The `taskq local` flags that change timings and limits, applied to any app as one consistent rewrite of its
 * synthesized template: a flag moves every value the construct derives from it (function timeout, lease,
 * visibility timeout, redrive policy, agent timeouts), so that the rewritten template is one the construct itself
 * could have synthesized.
 *
 * Interface agreed between helpers; the implementation lands with issue 14.
 */
import type { Template } from './template';

export interface LocalOverrides {
  /** `--consumer-timeout S`: every TaskQueue consumer's function timeout, and what derives from it. @default - as synthesized */
  readonly consumerTimeoutSeconds?: number;
  /** `--max-receive-count N`: every task queue's redrive policy, and the consumers' bound on attempts. @default - as synthesized */
  readonly maxReceiveCount?: number;
  /** `--heartbeat-timeout S`: every async agent's heartbeat timeout. @default - as synthesized */
  readonly heartbeatTimeoutSeconds?: number;
  /** `--tenant-max-concurrency N`. @default - as synthesized */
  readonly tenantMaxConcurrency?: number;
  /** `--limit-wake-up S`. @default - as synthesized */
  readonly limitWakeUpSeconds?: number;
  /** `--agent TYPE=URL`: the agent of TYPE (HTTP or Lambda) becomes an HTTP agent at URL. @default - none */
  readonly agentUrls?: Readonly<Record<string, string>>;
}

export interface RewrittenTemplate {
  readonly template: Template;
  /** Lines for the banner, e.g. `agent summarize → http://127.0.0.1:9000 (--agent)`. */
  readonly notes: readonly string[];
  /**
   * Agents that cannot run locally (a Lambda agent named by an ARN of a function outside the app, not mapped by
   * `--agent`), as `TYPE → ARN`: listed at start as not runnable locally.
   */
  readonly notRunnable: readonly string[];
}

/**
 * Applies the overrides to a copy of the template. Throws one clear error for an override that names nothing
 * (e.g. `--agent` of a type no TaskQueue of the template has) or a value the construct would refuse.
 */
export function applyLocalOverrides(template: Template, overrides: LocalOverrides): RewrittenTemplate {
  void overrides;
  throw new Error(
    `applyLocalOverrides is not implemented yet (${Object.keys(template.Resources).length} resources)`,
  );
}
