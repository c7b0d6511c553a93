/**
 * The rules by which the construct derives settings from others and checks them, in plain seconds and counts:
 * one home for each, shared by lib/ (which takes `Duration`s and calls these with their seconds) and by
 * local/template-rewrites.ts (which rewrites a synthesized template and must move every derived value with the
 * one it derives from). No aws-cdk-lib here, so that reading a template does not load it.
 */
import { MAX_LIMIT } from '../core/limits';
import { SQS_MAX_DELAY_SECONDS } from '../core/queue-message';
import { maxRunTimeLimitSeconds, SQS_MAX_IN_FLIGHT_SECONDS } from './agent-target';

/** Lambda's longest function timeout. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/**
 * Lambda's own default function timeout, when a function sets none.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
 */
export const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;

/**
 * Lambda's bounds on an event invoke config's `MaximumEventAgeInSeconds`.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html
 */
export const MIN_EVENT_AGE_SECONDS = 60;
export const MAX_EVENT_AGE_SECONDS = 21_600;

/**
 * The shortest visibility timeout of a tier queue, and its default: AWS asks for at least 6 × the consumer
 * timeout plus the batching window.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
export function minimumVisibilitySeconds(
  consumerTimeoutSeconds: number,
  maxBatchingWindowSeconds: number,
): number {
  return consumerTimeoutSeconds * 6 + maxBatchingWindowSeconds;
}

/**
 * How long a claim holds a task (the consumers' `LEASE_SECONDS`). A claim outlives the invocation that made it,
 * and is over before the message can be seen again: twice the timeout is longer than any live invocation, and at
 * most a third of the visibility timeout, so a redelivered message always finds the claim of a dead consumer
 * expired.
 */
export function leaseSeconds(consumerTimeoutSeconds: number): number {
  return consumerTimeoutSeconds * 2;
}

/** `tier` names the consumer, e.g. `high tier:`. */
export function consumerTimeoutError(tier: string, seconds: number): string | undefined {
  if (seconds >= 1 && seconds <= LAMBDA_MAX_TIMEOUT_SECONDS) return undefined;
  return `${tier} consumerTimeout must be between 1 and ${LAMBDA_MAX_TIMEOUT_SECONDS} seconds, but ${seconds} was provided`;
}

export function maxReceiveCountError(count: number): string | undefined {
  if (count >= 1) return undefined;
  return `maxReceiveCount must be 1 or more, but ${count} was provided`;
}

/** The tenant cap bounds a counter item as an agent's `maxConcurrency` does. */
export function tenantMaxConcurrencyError(cap: number): string | undefined {
  if (Number.isInteger(cap) && cap >= 1 && cap <= MAX_LIMIT) return undefined;
  return `tenantMaxConcurrency must be an integer between 1 and ${MAX_LIMIT}, but ${cap} was provided`;
}

/**
 * The wake-up interval is a message delay, which SQS holds to 900 seconds.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html
 */
export function limitWakeUpError(seconds: number): string | undefined {
  if (Number.isInteger(seconds) && seconds >= 1 && seconds <= SQS_MAX_DELAY_SECONDS) return undefined;
  return (
    `limitWakeUp must be a whole number of seconds between 1 and ${SQS_MAX_DELAY_SECONDS} (SQS's longest message delay), ` +
    `but ${seconds} seconds was provided`
  );
}

/**
 * The limits of one async agent: a heartbeat window of at least a second and within the run time, and a run time
 * within SQS's in-flight limit (`maxRunTimeLimitSeconds`). `consumer` names the consumer timeout it is held to,
 * e.g. `the high tier's consumerTimeout`.
 */
export function asyncAgentLimitErrors(
  type: string,
  limits: { readonly heartbeatTimeoutSeconds: number; readonly maxRunTimeSeconds: number },
  consumerTimeoutSeconds: number | undefined,
  consumer: string,
): string[] {
  const errors: string[] = [];
  const { heartbeatTimeoutSeconds: heartbeat, maxRunTimeSeconds: maxRunTime } = limits;
  if (heartbeat < 1) {
    errors.push(`agent '${type}' heartbeatTimeout must be at least 1 second, but ${heartbeat} was provided`);
  }
  if (heartbeat > maxRunTime) {
    errors.push(
      `agent '${type}' heartbeatTimeout must be at most its maxRunTime (${maxRunTime} seconds), but ${heartbeat} was provided`,
    );
  }
  const timeout = consumerTimeoutSeconds;
  if (timeout !== undefined && maxRunTime > maxRunTimeLimitSeconds(timeout)) {
    errors.push(
      `agent '${type}' maxRunTime must be at most ${SQS_MAX_IN_FLIGHT_SECONDS} − ${consumer} − 60 = ` +
        `${SQS_MAX_IN_FLIGHT_SECONDS} − ${timeout} − 60 = ${maxRunTimeLimitSeconds(timeout)} seconds, but ${maxRunTime} was provided: ` +
        'an async attempt keeps its SQS message in flight, and SQS keeps a message in flight for at most 12 hours from the receive ' +
        "that returned it, however often its visibility is extended; the receive comes up to the consumer's timeout before the hand-off",
    );
  }
  return errors;
}

/**
 * How long Lambda may keep an async Lambda agent's event queued (its event invoke config's
 * `MaximumEventAgeInSeconds`): what is left of the heartbeat window once the function has run for its whole
 * timeout, so that a completion (a destination record) always arrives within the window and an event never
 * starts after its attempt was declared lost. At most Lambda's own limit.
 */
export function maxEventAgeSeconds(heartbeatSeconds: number, functionTimeoutSeconds: number): number {
  return Math.min(heartbeatSeconds - functionTimeoutSeconds, MAX_EVENT_AGE_SECONDS);
}

/**
 * A Lambda agent completed through destinations cannot heartbeat, so its window must hold the event's shortest
 * maximum age and the function's whole run. `names` lists its agent types, e.g. `'research', 'review'`.
 */
export function destinationHeartbeatError(
  names: string,
  heartbeatSeconds: number,
  functionTimeoutSeconds: number,
): string | undefined {
  if (heartbeatSeconds - functionTimeoutSeconds >= MIN_EVENT_AGE_SECONDS) return undefined;
  return (
    `agent ${names}: a Lambda agent completed through destinations cannot heartbeat; its heartbeatTimeout must be at least ` +
    `its function timeout + ${MIN_EVENT_AGE_SECONDS} s = ${functionTimeoutSeconds + MIN_EVENT_AGE_SECONDS} seconds, but ${heartbeatSeconds} was provided ` +
    "(Lambda's shortest maximum event age is 60 s, and the event's age and the function's run must both fit the window)"
  );
}
