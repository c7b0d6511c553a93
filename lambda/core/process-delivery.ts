/**
 * One SQS delivery of a task, from claim to acknowledgement. The handler runs this for every record
 * in a batch and reports the ones that return `retry` as batch item failures.
 *
 * - `ack`: the message may be deleted (success, permanent failure already dead-lettered, or a
 *   duplicate delivery that must not run).
 * - `retry`: leave the message on the queue. Its visibility was already set to the backoff when the
 *   failure was transient (or, for a duplicate copy received during that wait, to the time left in it);
 *   otherwise it comes back after the queue's visibility timeout, which is longer than any claim's lease, so
 *   the next delivery can always claim the task again.
 */

import { randomBytes } from 'node:crypto';
import { answerByteLimit, classifyAgentFailure } from './agent-outcome';
import { attemptDeadline, lateAnswerAllowanceSeconds } from './agent-timeout';
import { asyncClaim, callbackUrl, newCallbackToken, visibilityUntil } from './async-attempt';
import { settleAsync } from './async-callbacks';
import { parseEnvelope } from './envelope';
import { TaskErrorCode } from './error-codes';
import { parseExactJson } from './json-text';
import {
  agentCounterKey,
  type HeldSlots,
  HOLDER_SUFFIX_CHARS,
  holderId,
  LimitReason,
  RATE_STAMP_TOLERANCE_MS,
  type RateStart,
  type SlotRequest,
  tenantCounterKey,
  waitDelaySeconds,
} from './limits';
import type { AgentInvoker, Limiter, SlotGrant, TaskStore, TierQueue } from './ports';
import { envelopeMessage, waitingMessage } from './queue-message';
import {
  type BackoffPolicy,
  backoffSeconds,
  isLastAttempt,
  isLastDelivery,
  MAX_VISIBILITY_SECONDS,
  RETRY_CLOCK_SKEW_MS,
  retryDelaySeconds,
} from './retry-policy';
import type { SlotWaits } from './slot-waits';
import type { StampLead } from './stamp-lead';
import { type TaskEnvelope, type TaskError, TaskStatus } from './task';
import {
  deliveryEnvelopes,
  isPublishEnvelope,
  publishedExpiresAt,
  publishedRecord,
  retentionEnd as retentionEndOf,
} from './topics';
import { isTerminal, permits, skipReason, TRANSITIONS } from './transitions';

/**
 * Time a consumer invocation keeps for everything but the agent call once a task has waited in it: the claim, the
 * result's write and the release. The construct's smallest room for them (lib/task-tier.ts: the consumer timeout
 * exceeds every agent timeout by max(5 s, 10 %)).
 */
export const IN_PROCESS_WAIT_RESERVE_MS = 5000;

/**
 * The longest a task refused by a limit waits inside its consumer invocation: the limiter's wake-up interval (so
 * that a waiting high task asks at least once a wake-up), and never into the time its own agent call needs, the
 * agent's timeout and IN_PROCESS_WAIT_RESERVE_MS, out of what is left of the invocation. 0: no wait here.
 */
export function inProcessWaitMs(wakeUpMs: number, remainingMs: number, agentTimeoutMs: number): number {
  return Math.max(0, Math.min(wakeUpMs, remainingMs - agentTimeoutMs - IN_PROCESS_WAIT_RESERVE_MS));
}

export interface ProcessSettings {
  readonly maxReceiveCount: number;
  readonly leaseSeconds: number;
  readonly backoff: BackoffPolicy;
  /** Largest result stored on the task record, in bytes of JSON. */
  readonly maxResultBytes: number;
  /** How long a finished task stays in the table. */
  readonly retentionSeconds: number;
  /** The HTTP API's base URL: an async agent's callbacks go to `<base>/tasks/<id>`. */
  readonly callbackBaseUrl: string;
  /** The most tasks of one tenant running at once; 0, no cap. */
  readonly tenantMaxConcurrency: number;
  /** The longest a task waiting for a limit goes between two asks (limits.ts `waitDelaySeconds`). */
  readonly limitWakeUpSeconds: number;
}

export interface ProcessDeps {
  readonly store: TaskStore;
  readonly queue: TierQueue;
  readonly agents: AgentInvoker;
  /** The limiter's counters; without it, no limit is enforced (unit tests of other rules). */
  readonly limiter?: Limiter;
  /**
   * The tasks of this process waiting for a slot (one per process, as the limiter): a slot given back here goes
   * straight to one of them. Without it, a refused task is sent again at once.
   */
  readonly slotWaits?: SlotWaits;
  /**
   * How far ahead of its grant this process stamps a rate-limited start (one per process, as the limiter), learnt
   * from its own grants' delays to their calls. Without it, a start is stamped at its grant.
   */
  readonly stampLead?: StampLead;
  /** The task bucket: a large payload is read from it before the agent call (payload-storage.ts). */
  readonly payloads?: { get(key: string): Promise<string> };
  readonly settings: ProcessSettings;
  readonly now?: () => Date;
  readonly random?: () => number;
  /** Called once per task transition, for structured logs and metrics. */
  readonly onTransition?: (event: TransitionEvent) => void;
}

export interface Delivery {
  readonly body: string;
  readonly receiptHandle: string;
  readonly receiveCount: number;
  /** How many times in a row the task has waited for a limit (the message attribute `waits`); 0 if never. */
  readonly waits?: number;
  /** What is left of the invocation, in ms (Lambda's `getRemainingTimeInMillis`); without it, no in-process wait. */
  readonly remainingMs?: () => number;
}

export type TransitionEvent = {
  readonly task_id: string;
  readonly type?: string;
  readonly priority?: string;
  readonly attempt?: number;
  readonly transition:
    | 'claimed'
    | 'skipped'
    | 'succeeded'
    | 'retrying'
    | 'failed'
    | 'claim-lost'
    | 'poison-message'
    /** An async agent took the task over; its message stays in flight until the attempt's deadline. */
    | 'handed-off'
    /** A duplicate receive of a running async attempt's message: its receipt handle is the one recorded now. */
    | 'adopted'
    /** An async attempt's deadline passed without a completion: the attempt is lost. */
    | 'lapsed'
    /** A limit holds the task back (`detail`: the reason); its message was sent again with a delay. */
    | 'waiting'
    /** The attempt gave its slots back (`agent_slots_in_use`: the agent's, after it). */
    | 'released'
    /** A publish message was fanned out: one delivery message per subscriber (`detail`: how many). */
    | 'fanned-out';
  readonly detail?: string;
  /** On `claimed` and `released`: the agent's slots in use after it, when the agent has a concurrency limit. */
  readonly agent_slots_in_use?: number;
  /** On the first claim: milliseconds from enqueue to start. */
  readonly queue_wait_ms?: number;
  /** After an agent call: how long it took. */
  readonly agent_ms?: number;
  /** On a terminal transition: milliseconds from enqueue to now. */
  readonly end_to_end_ms?: number;
};

export type DeliveryOutcome = 'ack' | 'retry';

export { parseEnvelope };

const isError = (x: TaskEnvelope | TaskError): x is TaskError => 'code' in x && !('task_id' in x);

/**
 * A publish message (topics.ts): makes sure its published record exists (the producer's write may have failed after
 * its send), then sends one delivery message per subscriber and acks. A failure part-way throws, so the message
 * comes back and the fan-out runs again; the deliveries sent twice are duplicates, which their claims tell apart.
 * A message that lost a race for its task id (another `enqueue_id` is recorded) fans nothing out, and neither does
 * one whose published record has ended (the sweep failed it: its message was dead-lettered).
 */
async function fanOut(
  envelope: TaskEnvelope,
  delivery: Delivery,
  deps: ProcessDeps,
): Promise<DeliveryOutcome> {
  const emit = deps.onTransition ?? (() => {});
  const base = { task_id: envelope.task_id, type: envelope.type, priority: envelope.priority };
  // Read first: the producer's write is almost always there, and a read costs a fifth of a refused create.
  const existing = await deps.store.get(envelope.task_id);
  const created = existing
    ? { created: false as const, existing }
    : await deps.store.create(
        publishedRecord(
          envelope,
          publishedExpiresAt(new Date(envelope.created_at), deps.settings.retentionSeconds),
        ),
      );
  const current = created.created ? undefined : created.existing;
  if (current && (current.enqueue_id !== envelope.enqueue_id || isTerminal(current.status))) {
    emit({
      ...base,
      transition: 'skipped',
      detail: current.enqueue_id !== envelope.enqueue_id ? 'superseded' : 'finished',
    });
    if (current.status === TaskStatus.FAILED && current.enqueue_id === envelope.enqueue_id) {
      await deps.queue.deadLetter(
        delivery.body,
        current.error ?? { code: TaskErrorCode.TaskFailed, message: 'the published task had already failed' },
        envelope.task_id,
        envelope.tenant_id,
      );
    }
    return 'ack';
  }
  const messages = deliveryEnvelopes(envelope).map(envelopeMessage);
  await deps.queue.sendAll(messages);
  emit({ ...base, transition: 'fanned-out', detail: String(messages.length) });
  return 'ack';
}

export async function processDelivery(delivery: Delivery, deps: ProcessDeps): Promise<DeliveryOutcome> {
  const now = deps.now ?? (() => new Date());
  const emit = deps.onTransition ?? (() => {});
  const { settings } = deps;

  const envelope = parseEnvelope(delivery.body);
  if (isError(envelope)) {
    // A poison message never blocks the queue: park it on the DLQ at once.
    await deps.queue.deadLetter(delivery.body, envelope, undefined);
    emit({ task_id: 'unknown', transition: 'poison-message', detail: envelope.code });
    return 'ack';
  }
  const base = { task_id: envelope.task_id, type: envelope.type, priority: envelope.priority };
  const retentionEnd = () => retentionEndOf(now(), settings.retentionSeconds, envelope);
  if (isPublishEnvelope(envelope)) return fanOut(envelope, delivery, deps);

  const known = deps.agents.has(envelope.type);
  const agentTimeoutSeconds = known ? deps.agents.timeoutSeconds(envelope.type) : 0;
  const limits = known ? deps.agents.asyncLimits(envelope.type) : undefined;
  const token = limits && newCallbackToken();
  const asyncClaimAt = (at: Date) =>
    limits &&
    token &&
    asyncClaim({
      nowMs: at.getTime(),
      tokenHash: token.hash,
      receiptHandle: delivery.receiptHandle,
      receiveCount: delivery.receiveCount,
      handOffSeconds: agentTimeoutSeconds,
      heartbeatTimeoutSeconds: limits.heartbeatTimeoutSeconds,
      maxRunTimeSeconds: limits.maxRunTimeSeconds,
    });
  // One reading of the clock for the claim and the reason it was refused: the reason must be the claim's own.
  let claimedAt = now();
  let async = asyncClaimAt(claimedAt);
  const asked = await askForSlots(envelope, delivery, deps, {
    claimedAt,
    holdUntilMs: async ? async.leaseUntilMs : claimedAt.getTime() + settings.leaseSeconds * 1000,
    agentTimeoutMs: agentTimeoutSeconds * 1000,
  });
  if (asked === 'waiting') return 'ack';
  if (asked?.waited) {
    // It waited in this invocation: its claim is as of now.
    claimedAt = now();
    async = asyncClaimAt(claimedAt);
  }
  // A rate-only agent's grant holds no slot: nothing to record or give back.
  const slots = asked?.slots.keys.length ? asked.slots : undefined;
  let held = slots !== undefined;
  const letGo = () => {
    if (held && slots) deps.slotWaits?.unhold(slots.keys);
    held = false;
  };
  const runClaimed = async (): Promise<DeliveryOutcome> => {
    const claim = await deps.store.claim(envelope, claimedAt, settings.leaseSeconds, async, slots);
    if (!claim.claimed && slots) await releaseSlots(deps, envelope, slots, now(), letGo);
    if (!claim.claimed) {
      const { current } = claim;
      const reason = skipReason(current, envelope.enqueue_id, claimedAt.getTime());
      // A running async attempt: this is a second receive of its message (or the message is back early). Record
      // this receive's handle, so that heartbeats extend the copy SQS shows next, and keep it away until the
      // deadline; without this, heartbeats would extend a stale handle and a healthy task would be dead-lettered.
      if (reason === 'running-async') {
        const adopted = await deps.store.adopt(
          envelope.task_id,
          current.attempts,
          delivery.receiptHandle,
          delivery.receiveCount,
          now(),
        );
        emit({
          ...base,
          attempt: current.attempts,
          transition: adopted ? 'adopted' : 'skipped',
          detail: reason,
        });
        if (adopted && current.lease_until !== undefined) {
          await deps.queue.changeVisibility(
            delivery.receiptHandle,
            visibilityUntil(
              current.lease_until,
              now().getTime(),
              backoffSeconds(current.attempts, settings.backoff, deps.random),
            ),
          );
        }
        return 'retry';
      }
      // An async attempt whose deadline passed: it is lost. The message stayed away for the backoff after the
      // deadline (visibilityUntil), so this delivery records the loss and is the next attempt at once; on the
      // last delivery it is the end of the task's retries (FAILED, then the DLQ).
      if (reason === 'lapsed') {
        const settled = await settleAsync(
          current,
          undefined,
          { lease: 'expired', receiveCount: delivery.receiveCount, backoffWaited: true },
          { store: deps.store, settings, now, random: deps.random },
        );
        const lapsed = settled?.record.status;
        emit({
          ...base,
          attempt: current.attempts,
          // Counted as the attempt's failure; a cancelled one is only logged.
          transition: !settled
            ? 'claim-lost'
            : lapsed === TaskStatus.RETRYING
              ? 'retrying'
              : lapsed === TaskStatus.FAILED
                ? 'failed'
                : 'lapsed',
          detail: settled?.record.error?.code,
        });
        if (!settled) return 'retry';
        if ('delete' in settled.fate) return 'ack';
        if (settled.record.status === TaskStatus.RETRYING) return processDelivery(delivery, deps);
        await deps.queue.changeVisibility(delivery.receiptHandle, settled.fate.visibilitySeconds);
        return 'retry';
      }
      emit({ ...base, transition: 'skipped', detail: reason });
      // A duplicate copy received while the task waits for its retry (the last attempt's agent may still be
      // running): not deleted, as above, and back when the retry is due, as the message itself.
      if (reason === 'waiting-retry') {
        const dueMs = (claim.current.retry_at ?? 0) + RETRY_CLOCK_SKEW_MS - now().getTime();
        await deps.queue.changeVisibility(
          delivery.receiptHandle,
          Math.min(Math.ceil(dueMs / 1000), MAX_VISIBILITY_SECONDS),
        );
        return 'retry';
      }
      // A second copy of a message whose task is running must not be deleted: with SQS, deleting any copy
      // deletes the message, and the running attempt may still need it for its retry. Leave it invisible;
      // it comes back after the visibility timeout, when the running attempt is over either way.
      if (reason === 'running') return 'retry';
      // A FAILED task's message belongs in the DLQ. Deleting this copy could delete the message that SQS was
      // about to redrive there (its retries ran out), so park a copy on the DLQ first.
      if (reason === 'finished' && claim.current.status === TaskStatus.FAILED) {
        await deps.queue.deadLetter(
          delivery.body,
          claim.current.error ?? { code: TaskErrorCode.TaskFailed, message: 'the task had already failed' },
          envelope.task_id,
          envelope.tenant_id,
        );
      }
      return 'ack';
    }
    const attempt = claim.attempt;
    const enqueuedMs = Date.parse(envelope.created_at);
    const sinceEnqueue = () => Math.max(0, now().getTime() - enqueuedMs);
    emit({
      ...base,
      attempt,
      transition: 'claimed',
      ...(attempt === 1 && { queue_wait_ms: sinceEnqueue() }),
      ...(asked?.agentInUse !== undefined && { agent_slots_in_use: asked.agentInUse }),
    });
    const timedOut = (error: TaskError) => error.code === TaskErrorCode.AgentTimeout;
    /**
     * After an AgentTimeout the agent may still be working: its slots are held until `untilMs`, the end of the retry's
     * wait (or of the late-answer allowance).
     */
    const keepSlots = async (untilMs: number) => {
      if (slots) await deps.limiter?.keepUntil(slots, untilMs, now());
    };

    // A payload kept in the task bucket is read now, once the attempt is the task's: a wait or a duplicate reads
    // nothing. A failed read fails the attempt (PayloadUnavailable), which is retried. Before the hold to the rate
    // stamp, so that the read does not make the call later than its stamp.
    const payload = known ? await payloadOf(envelope, deps) : undefined;
    if (asked?.start) await holdToStamp(asked.start, asked.leadMs, deps, now);
    const agentStart = now().getTime();
    let outcome = !payload
      ? classifyAgentFailure({ fact: 'no-agent', type: envelope.type })
      : !payload.read
        ? ({ kind: 'transient', error: payload.error } as const)
        : await deps.agents.invoke(
            {
              task_id: envelope.task_id,
              type: envelope.type,
              payload: payload.payload,
              ...(envelope.tenant_id !== undefined && { tenant_id: envelope.tenant_id }),
              ...(envelope.topic !== undefined && { topic: envelope.topic }),
              ...(envelope.published_task_id !== undefined && {
                published_task_id: envelope.published_task_id,
              }),
              attempt,
              // The agent is told when its answer stops counting; the adapter stops waiting then.
              deadline: attemptDeadline(new Date(agentStart), agentTimeoutSeconds),
              ...(limits &&
                token && {
                  callback: {
                    url: callbackUrl(settings.callbackBaseUrl, envelope.task_id),
                    token: token.token,
                    heartbeat_seconds: limits.heartbeatTimeoutSeconds,
                  },
                }),
            },
            { maxAnswerBytes: answerByteLimit(settings.maxResultBytes) },
          );
    const timing = { agent_ms: now().getTime() - agentStart };
    // The agent has answered (but for an AgentTimeout, or the hand-off of an async agent, which keeps them): its
    // slots go back now, while the outcome is written, so that the next task's ask finds them free sooner.
    const agentDone =
      outcome.kind === 'success' ||
      outcome.kind === 'permanent' ||
      (outcome.kind === 'transient' && !timedOut(outcome.error));
    const freed = agentDone && slots ? releaseSlots(deps, envelope, slots, now(), letGo) : Promise.resolve();
    const recordOutcome = async (): Promise<DeliveryOutcome> => {
      if (outcome.kind === 'accepted') {
        // The agent has the task: its message stays in flight until the attempt's deadline, when it comes back to
        // find the attempt settled (and is deleted) or lost (and is retried). A completion that came first may have
        // deleted it already; then there is nothing left to hide.
        emit({ ...base, attempt, transition: 'handed-off', ...timing });
        if (async) {
          const wait = backoffSeconds(attempt, settings.backoff, deps.random);
          await deps.queue
            .changeVisibility(
              delivery.receiptHandle,
              visibilityUntil(async.leaseUntilMs, now().getTime(), wait),
            )
            .catch(() => {});
        }
        return 'retry';
      }
      const final = () => ({ ...timing, end_to_end_ms: sinceEnqueue() });

      /** Records FAILED for this attempt, if it still holds the claim. */
      const recordFailure = async (error: TaskError): Promise<boolean> => {
        const settled = await deps.store.fail(envelope.task_id, attempt, error, now(), retentionEnd());
        emit({
          ...base,
          attempt,
          transition: settled ? 'failed' : 'claim-lost',
          detail: error.code,
          ...final(),
        });
        return settled;
      };

      if (outcome.kind === 'success') {
        const size = Buffer.byteLength(JSON.stringify(outcome.result ?? null));
        if (size > settings.maxResultBytes) {
          outcome = classifyAgentFailure({
            fact: 'result-too-large',
            bytes: size,
            limitBytes: settings.maxResultBytes,
          });
        } else {
          const settled = await deps.store.succeed(
            envelope.task_id,
            attempt,
            outcome.result,
            now(),
            retentionEnd(),
            claim.recordBytes,
          );
          emit({ ...base, attempt, transition: settled ? 'succeeded' : 'claim-lost', ...final() });
          return settled ? 'ack' : 'retry';
        }
      }

      if (outcome.kind === 'permanent') {
        // Dead-letter first: if the FAILED write then fails, the redelivery reclaims the task after its lease.
        await deps.queue.deadLetter(delivery.body, outcome.error, envelope.task_id, envelope.tenant_id);
        return (await recordFailure(outcome.error)) ? 'ack' : 'retry';
      }

      const lastDelivery = isLastDelivery(delivery.receiveCount, settings.maxReceiveCount);
      if (
        isLastAttempt(
          { attempt, attemptsBase: claim.attemptsBase, receiveCount: delivery.receiveCount },
          settings.maxReceiveCount,
        )
      ) {
        const settled = await recordFailure(outcome.error);
        if (!settled) return 'retry';
        if (timedOut(outcome.error))
          await keepSlots(now().getTime() + lateAnswerAllowanceSeconds(agentTimeoutSeconds) * 1000);
        // SQS's last delivery: visible again at once, so that SQS moves it to the DLQ on its next receive. The
        // attempts ran out first (the task waited, so its message was re-sent): the consumer dead-letters it.
        if (lastDelivery) {
          await deps.queue.changeVisibility(delivery.receiptHandle, 0);
          return 'retry';
        }
        await deps.queue.deadLetter(delivery.body, outcome.error, envelope.task_id, envelope.tenant_id);
        return 'ack';
      }
      // After an AgentTimeout the agent may still be running: retryDelaySeconds leaves it time (agent-timeout.ts).
      // The record says when the wait ends, so that a duplicate copy of the message does not end it early.
      const delaySeconds = retryDelaySeconds(
        attempt,
        outcome.error,
        settings.backoff,
        agentTimeoutSeconds,
        deps.random,
      );
      const retryAtMs = now().getTime() + delaySeconds * 1000 - RETRY_CLOCK_SKEW_MS;
      const settled = await deps.store.retry(envelope.task_id, attempt, outcome.error, now(), retryAtMs);
      emit({
        ...base,
        attempt,
        transition: settled ? 'retrying' : 'claim-lost',
        detail: outcome.error.code,
        ...timing,
      });
      if (settled) {
        // Due when the retry is (`retry_at`), so that the retry does not wait for its own attempt's slot.
        if (timedOut(outcome.error)) await keepSlots(retryAtMs);
        await deps.queue.changeVisibility(delivery.receiptHandle, delaySeconds);
      }
      return 'retry';
    };
    try {
      return await recordOutcome();
    } finally {
      await freed;
    }
  };
  try {
    return await runClaimed();
  } finally {
    // Whatever became of them (given back, kept for a retry, held by an async agent), no attempt of this process
    // gives them back any more.
    letGo();
  }
}

/**
 * Right before the agent call: keeps the call within RATE_STAMP_TOLERANCE_MS after the start its grant stamped in
 * the rate log. A call later than that moves its stamp to now (`Limiter.restamp`, waiting if the move would overfill
 * a window); one earlier than its stamp waits for it. The delay from the grant (stamped `leadMs` after it) to now
 * tells the process's next grants how far ahead to stamp (`StampLead`).
 */
async function holdToStamp(
  start: RateStart,
  leadMs: number,
  deps: ProcessDeps,
  now: () => Date,
): Promise<void> {
  deps.stampLead?.observe(now().getTime() - (start.atMs - leadMs));
  let stampMs = start.atMs;
  if (deps.limiter && now().getTime() - stampMs > RATE_STAMP_TOLERANCE_MS) {
    stampMs = await deps.limiter.restamp(start);
  }
  const earlyMs = stampMs - now().getTime();
  if (earlyMs > 0) await new Promise((resolve) => setTimeout(resolve, earlyMs));
}

/**
 * The task's payload: the envelope's own, or the JSON text of its object in the task bucket, read with every
 * number literal kept (as the envelope is). A failed read is the attempt's PayloadUnavailable.
 */
async function payloadOf(
  envelope: TaskEnvelope,
  deps: ProcessDeps,
): Promise<
  | { readonly read: true; readonly payload: Record<string, unknown> }
  | { readonly read: false; readonly error: TaskError }
> {
  const key = envelope.payload_object;
  if (key === undefined) return { read: true, payload: envelope.payload };
  const unavailable = (why: string) => ({
    read: false as const,
    error: { code: TaskErrorCode.PayloadUnavailable, message: `the payload object ${key} ${why}` },
  });
  if (!deps.payloads) return unavailable('cannot be read: this consumer has no task bucket');
  let text: string;
  try {
    text = await deps.payloads.get(key);
  } catch (error) {
    return unavailable(`could not be read: ${(error as Error).message}`);
  }
  try {
    const payload = parseExactJson(text);
    if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
      return { read: true, payload: payload as Record<string, unknown> };
    }
  } catch {
    // answered below
  }
  return unavailable('is not a JSON object');
}

/**
 * A grant as processDelivery uses it: the slots, whether the task waited in this invocation for it, and how far
 * after its decision its start was stamped.
 */
type Asked = Extract<SlotGrant, { granted: true }> & { readonly waited: boolean; readonly leadMs: number };

/**
 * Asks the limiter for the task's slots before its claim, when its agent has limits or its tenant a cap.
 * - `undefined`: nothing to ask (no limiter, no limit, or the task cannot be claimed now: the claim that follows
 *   refuses it and says why);
 * - `{ slots }`: granted, at once or after a wait in this invocation (`waitInProcess`); the claim records them, and
 *   the attempt's end gives them back (or hands them to a task waiting here);
 * - `'waiting'`: refused. The task keeps its status and its attempts, and the record says why (`waiting`). Its
 *   message is sent again, due after a delay that grows up to the wake-up interval, and this one is deleted: a
 *   new message starts SQS's receive count afresh, so waiting never brings the redrive policy nearer
 *   (retry-policy.ts `isLastAttempt` bounds the attempts instead).
 */
async function askForSlots(
  envelope: TaskEnvelope,
  delivery: Delivery,
  deps: ProcessDeps,
  at: { readonly claimedAt: Date; readonly holdUntilMs: number; readonly agentTimeoutMs: number },
): Promise<Asked | 'waiting' | undefined> {
  const { settings, limiter } = deps;
  if (!limiter || !deps.agents.has(envelope.type)) return undefined;
  const agentLimits = deps.agents.slotLimits(envelope.type);
  const tenantCap =
    envelope.tenant_id !== undefined && settings.tenantMaxConcurrency > 0
      ? settings.tenantMaxConcurrency
      : undefined;
  if (!agentLimits && tenantCap === undefined) return undefined;
  const nowMs = at.claimedAt.getTime();
  const current = await deps.store.get(envelope.task_id);
  if (!permits(TRANSITIONS.claim, current, { nowMs, enqueueId: envelope.enqueue_id })) return undefined;
  const request: SlotRequest = {
    holder: holderId(envelope.task_id, randomBytes(HOLDER_SUFFIX_CHARS / 2).toString('hex')),
    priority: envelope.priority,
    nowMs,
    holdUntilMs: at.holdUntilMs,
    wakeUpMs: settings.limitWakeUpSeconds * 1000,
    ...(agentLimits?.rateLimit && deps.stampLead && { stampLeadMs: deps.stampLead.leadMs() }),
    ...(agentLimits && { agent: { key: agentCounterKey(envelope.type), limits: agentLimits } }),
    ...(tenantCap !== undefined && {
      tenant: { key: tenantCounterKey(envelope.tenant_id!), maxConcurrency: tenantCap },
    }),
  };
  const granted = (grant: SlotGrant & { granted: true }, waited: boolean): Asked => {
    if (grant.slots.keys.length) deps.slotWaits?.hold(grant.slots.keys);
    return { ...grant, waited, leadMs: request.stampLeadMs ?? 0 };
  };
  const grant = await limiter.acquire(request);
  if (grant.granted) return granted(grant, false);
  deps.onTransition?.({
    task_id: envelope.task_id,
    type: envelope.type,
    priority: envelope.priority,
    transition: 'waiting',
    detail: grant.reason,
  });
  // The record says why it waits (written again only when the reason changes), and since its first wait. Written
  // while the task waits here: a slot given back meanwhile finds it waiting.
  const recorded =
    current &&
    (current.status === TaskStatus.QUEUED || current.status === TaskStatus.RETRYING) &&
    current.waiting?.reason !== grant.reason
      ? deps.store.wait(
          envelope.task_id,
          current.status,
          envelope.enqueue_id,
          { reason: grant.reason, since: current.waiting?.since ?? at.claimedAt.toISOString() },
          at.claimedAt,
        )
      : Promise.resolve();
  const recordError = recorded.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  const waitedFor = await waitInProcess(request, grant, delivery, deps, at.agentTimeoutMs);
  const failed = await recordError;
  // Granted: the claim clears `waiting` (a failed write of it changes nothing then).
  if (waitedFor.granted) return granted(waitedFor, true);
  if (failed) throw failed.error;
  const waits = delivery.waits ?? 0;
  await deps.queue.resend(
    waitingMessage(delivery.body, envelope.task_id, waits + 1, envelope.tenant_id),
    waitDelaySeconds(waits, settings.limitWakeUpSeconds, waitedFor.retryAfterMs, deps.random),
  );
  return 'waiting';
}

/**
 * A refused task's wait inside its consumer invocation, for at most `inProcessWaitMs`: only while a slot can come
 * within it. It waits for the slot of an attempt of this process (handed over as that attempt ends), or for its
 * rate limit's `retryAfterMs` (a timer), and asks again then, and once more at the end of its wait. A task refused
 * for a slot that no attempt of this process holds, or for a rate that frees no start in time, does not wait here.
 * Returns the grant, or the last refusal (the task is then sent again, as before).
 */
async function waitInProcess(
  request: SlotRequest,
  refusal: SlotGrant & { granted: false },
  delivery: Delivery,
  deps: ProcessDeps,
  agentTimeoutMs: number,
): Promise<SlotGrant> {
  const { slotWaits: room, limiter } = deps;
  if (!room || !limiter || !delivery.remainingMs) return refusal;
  // The invocation's own time: the real clock, whatever clock the rules are given.
  const endMs = Date.now() + inProcessWaitMs(request.wakeUpMs, delivery.remainingMs(), agentTimeoutMs);
  const clock = () => (deps.now ?? (() => new Date()))().getTime();
  let last: SlotGrant = refusal;
  while (!last.granted) {
    const key = last.reason === LimitReason.TenantConcurrencyLimit ? request.tenant?.key : request.agent?.key;
    const leftMs = endMs - Date.now();
    if (!key || leftMs <= 0) break;
    const rateDue = last.reason === LimitReason.AgentRateLimit ? last.retryAfterMs : undefined;
    // Nothing can come here in time: no attempt of this process holds the slot, and no rate time is due.
    if (!room.holds(key) && (rateDue === undefined || rateDue > leftMs)) break;
    // Handed a slot, or woken to ask: when its rate time comes, or at the end of its wait (its last ask).
    const woke = await room.wait(key, request, Math.min(rateDue ?? leftMs, leftMs));
    if (woke.kind === 'handed') {
      last = woke.grant;
      continue;
    }
    const nowMs = clock();
    last = await limiter.acquire({
      ...request,
      nowMs,
      holdUntilMs: request.holdUntilMs + (nowMs - request.nowMs),
    });
  }
  return last;
}

/**
 * Gives back an attempt's slots, straight to a task of this process waiting for one of them when there is one (one
 * write: `Limiter.handOff`); a failure leaves them to run out with their lease, as a crash would, and the waiting
 * task asks for itself. `letGo` tells this process's waiting tasks that the attempt no longer holds them (before
 * the hand-off: a task it refuses must not wait for this attempt). `now` is the consumer's clock (deps.now), the one the grant was asked by: the slots in use
 * after it count the holders live then.
 */
async function releaseSlots(
  deps: ProcessDeps,
  envelope: TaskEnvelope,
  slots: HeldSlots,
  now: Date,
  letGo: () => void,
): Promise<void> {
  letGo();
  const waiting = deps.slotWaits?.take(slots.keys);
  let inUse: ReadonlyMap<string, number> | undefined;
  if (waiting && deps.limiter) {
    const handed = await deps.limiter.handOff(slots, waiting.request).catch(() => undefined);
    inUse = handed?.inUse;
    waiting.give(handed?.grant);
  } else {
    inUse = await deps.limiter?.release(slots, now).catch(() => undefined);
    deps.slotWaits?.nudge(slots.keys);
  }
  const agentInUse = inUse?.get(agentCounterKey(envelope.type));
  deps.onTransition?.({
    task_id: envelope.task_id,
    type: envelope.type,
    priority: envelope.priority,
    transition: 'released',
    ...(agentInUse !== undefined && { agent_slots_in_use: agentInUse }),
  });
}
