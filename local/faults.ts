/**
 * Fault injection for the local runtime. Off unless a plan is given (`npm start -- --faults …`, or
 * `startLocalRuntime({ faults })`). Faults are injected where they happen on AWS, never in handler code:
 * AWS errors come from the AWS call proxy (local/aws-proxy.ts), worker deaths from killing the execution
 * environment mid-invocation, duplicate deliveries from the event source emulation (a real second delivery in
 * fauxqs: new receipt handle, receive count + 1), and slow agents from the
 * demo agent server. Every injected fault is counted.
 */
import { randomUUID } from 'node:crypto';
import { TaskErrorCode } from '../lambda/core/error-codes';
import { LimitReason } from '../lambda/core/limits';
import { TRANSITIONS } from '../lambda/core/transitions';
import type { CallbackRecord } from './async-echo';
import type { AwsCall, AwsInterceptor, ProxyReply } from './aws-proxy';
import type { LimitedStats } from './demo-agents';
import type { WorkerControl } from './functions';

export interface FaultPlan {
  /** Share of the producer's SQS SendMessage calls answered with an SQS InternalError (500). */
  readonly sqsSendFailure?: number;
  /** Share of all DynamoDB calls answered with ProvisionedThroughputExceededException (400). */
  readonly dynamodbThrottle?: number;
  /** Share of consumer claims after which the worker dies before calling the agent. */
  readonly dieBeforeAgent?: number;
  /** Share of consumer completion writes before which the worker dies (the agent already ran). */
  readonly dieAfterAgent?: number;
  /** Share of consumer completion writes after which the worker dies, before the message is acknowledged. */
  readonly dieAfterCompletion?: number;
  /** Share of messages the event source delivers twice. */
  readonly duplicateDelivery?: number;
  /** Share of agent calls delayed by `slowAgentMs`. */
  readonly slowAgent?: number;
  readonly slowAgentMs?: number;
  /** Share of agent calls that never answer within the agent's timeout. */
  readonly agentTimeout?: number;
  /**
   * Share of the functions' SNS Publish and PublishBatch calls that fail, as SNS fails them: a Publish gets a 500
   * InternalError (which the SDK retries), a PublishBatch a 200 whose every entry is `Failed` with InternalError
   * (which the SDK does not retry: the caller must).
   */
  readonly snsPublishFailure?: number;
  /** Seed of the fault dice, for repeatable runs. @default 1 */
  readonly seed?: number;
}

export const FAULT_NAMES = [
  'sqsSendFailure',
  'dynamodbThrottle',
  'dieBeforeAgent',
  'dieAfterAgent',
  'dieAfterCompletion',
  'duplicateDelivery',
  'slowAgent',
  'agentTimeout',
  'snsPublishFailure',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];
export type InjectedFaults = Record<FaultName, number> & { readonly completionWritesThrottled: number };

/** mulberry32: a small, seedable generator, so that a chaos run can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parses `name=rate,name=rate` (e.g. `dynamodbThrottle=0.05,dieAfterAgent=0.02`); `all=R` sets every rate. */
export function parseFaultPlan(text: string): FaultPlan {
  const plan: Record<string, number> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, raw] = part.split('=');
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`fault '${part}': the value must be a number ≥ 0`);
    if (name === 'all') {
      for (const f of FAULT_NAMES) plan[f] = value;
    } else if (
      (FAULT_NAMES as readonly string[]).includes(name!) ||
      name === 'seed' ||
      name === 'slowAgentMs'
    ) {
      plan[name!] = value;
    } else {
      throw new Error(`unknown fault '${name}': choose from ${FAULT_NAMES.join(', ')}, seed, slowAgentMs`);
    }
  }
  return plan as FaultPlan;
}

/**
 * What a run with a fault plan reads back: `startLocalRuntime({ faults })` returns it as `faults`, and only then.
 * For chaos runs and tests; nothing else of the runtime exposes fault state.
 */
export interface FaultReport {
  readonly plan: FaultPlan;
  /** Faults injected so far, by name. */
  injected(): InjectedFaults;
  /** Per task, attempts claimed while an earlier attempt had not recorded its outcome. */
  interruptedAttempts(): ReadonlyMap<string, number>;
  /** Per task, async attempts recorded as lost (`HeartbeatTimeout` or `AgentRunTimeExceeded`). */
  lostAttempts(): ReadonlyMap<string, number>;
  /** Successful agent executions per task id (empty unless the built-in demo agents answer). */
  agentSuccesses(): ReadonlyMap<string, number>;
  /** Every callback the built-in async demo agents made (empty unless they answer). */
  agentCallbacks(): readonly CallbackRecord[];
  /** Per task, the attempts whose async demo agent run started (empty unless the built-in demo agents answer). */
  asyncRunAttempts(): ReadonlyMap<string, readonly number[]>;
  /** Async demo agent runs not yet over. */
  activeAsyncRuns(): number;
  /** Per task, the consumer deaths injected at its claim or completion write (not the deliveries they took along). */
  deaths(): ReadonlyMap<string, number>;
  /** Waits the consumers recorded on task records (a first wait, or a change of reason), by reason. */
  waits(): Readonly<Record<LimitReason, number>>;
  /** The `limited` demo agent's own count of its calls (empty unless the built-in demo agents answer). */
  limited(): LimitedStats;
}

const jsonError = (status: number, type: string, message: string): ProxyReply => ({
  status,
  body: JSON.stringify({ __type: type, message }),
  headers: { 'x-amzn-query-error': `${type.split('#')[1]};Sender` },
});

const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** SNS's query-protocol error answer. */
const snsError = (status: number, code: string, message: string): ProxyReply => ({
  status,
  body:
    `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>Receiver</Type><Code>${code}</Code>` +
    `<Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  headers: { 'content-type': 'text/xml' },
});

/**
 * A PublishBatch answer in which every entry of the request failed with InternalError, as SNS reports entries it
 * could not publish (a 200: the SDK sees no error, only `Failed`).
 */
export function publishBatchAllFailed(body: Buffer): ProxyReply {
  const params = new URLSearchParams(body.toString('utf8'));
  const ids: string[] = [];
  for (const [key, value] of params) {
    if (/^PublishBatchRequestEntries\.member\.\d+\.Id$/.test(key)) ids.push(value);
  }
  const failed = ids
    .map(
      (id) =>
        `<member><Id>${id}</Id><Code>InternalError</Code><Message>injected fault: publish failed</Message>` +
        '<SenderFault>false</SenderFault></member>',
    )
    .join('');
  return {
    status: 200,
    body:
      `<PublishBatchResponse xmlns="${SNS_XMLNS}"><PublishBatchResult><Successful/><Failed>${failed}</Failed>` +
      `</PublishBatchResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishBatchResponse>`,
    headers: { 'content-type': 'text/xml' },
  };
}

/** The parts of a DynamoDB UpdateItem request (its JSON wire body) that tell which write it is. */
interface UpdateRequest {
  readonly Key?: { readonly task_id?: { readonly S?: string } };
  readonly UpdateExpression?: string;
  readonly ExpressionAttributeNames?: Readonly<Record<string, string>>;
  readonly ExpressionAttributeValues?: Readonly<
    Record<
      string,
      {
        readonly S?: string;
        readonly M?: { readonly code?: { readonly S?: string }; readonly reason?: { readonly S?: string } };
      }
    >
  >;
}

export type ConsumerWrite = 'claim' | 'completion';

/** The codes that record an async attempt as lost: its agent went silent, or it ran past its longest run time. */
const LOST_ATTEMPT_CODES: ReadonlySet<string> = new Set([
  TaskErrorCode.HeartbeatTimeout,
  TaskErrorCode.AgentRunTimeExceeded,
]);

/**
 * A consumer's writes, by the status each leaves the task in (the rule's `to`): a claim is the only write to
 * RUNNING, and a completion is a settle, the write only the attempt holding the claim may make (`attemptFence`).
 * Derived from the state machine, so that a new settle transition is a completion here too.
 */
const CONSUMER_WRITES: ReadonlyMap<string, ConsumerWrite> = new Map<string, ConsumerWrite>([
  ...Object.values(TRANSITIONS)
    // The settle writes of a sync attempt; an async attempt's ends are written by its callbacks and its lapse.
    .filter((t) => t.attemptFence && !t.asyncOnly)
    .map((t) => [t.to, 'completion'] as const),
  [TRANSITIONS.claim.to, 'claim'],
]);

/** `path = :value` in an update expression's SET clause (a REMOVE names paths without `=`). */
const ASSIGNMENT = /(?:^|[\s,])(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)/g;

/**
 * The status an UpdateItem writes: the value its update expression sets the `status` attribute to. Read from
 * what the request means in DynamoDB's terms (the name placeholder that stands for `status`, the value the
 * SET gives it), not from the placeholders the store happens to choose.
 */
function statusWritten(request: UpdateRequest): string | undefined {
  return valueWritten(request, 'status')?.S;
}

/** The value an UpdateItem's SET gives `attribute`, found the same way. */
function valueWritten(request: UpdateRequest, attribute: string) {
  for (const [, path, value] of (request.UpdateExpression ?? '').matchAll(ASSIGNMENT)) {
    const name = path!.startsWith('#') ? request.ExpressionAttributeNames?.[path!] : path;
    if (name === attribute) return request.ExpressionAttributeValues?.[value!];
  }
  return undefined;
}

/** The UpdateItem request of a DynamoDB call; undefined for any other call. */
function updateRequest(call: AwsCall): UpdateRequest | undefined {
  if (call.service !== 'dynamodb' || call.operation !== 'UpdateItem') return undefined;
  try {
    return JSON.parse(call.body.toString('utf8')) as UpdateRequest;
  } catch {
    return undefined;
  }
}

/** The reason a task store's `wait` write records (`waiting: { reason, since }`); undefined for any other call. */
export function waitWritten(call: AwsCall): LimitReason | undefined {
  const request = updateRequest(call);
  const reason = request && valueWritten(request, 'waiting')?.M?.reason?.S;
  return reason !== undefined && reason in LimitReason ? (reason as LimitReason) : undefined;
}

/** Which of the consumer's writes a DynamoDB call is, and the task it names; undefined for any other call. */
export function consumerWrite(
  call: AwsCall,
): { kind: ConsumerWrite; taskId?: string; errorCode?: string } | undefined {
  const request = updateRequest(call);
  if (!request) return undefined;
  const status = statusWritten(request);
  const kind = status === undefined ? undefined : CONSUMER_WRITES.get(status);
  if (!kind) return undefined;
  const errorCode = valueWritten(request, 'error')?.M?.code?.S;
  return { kind, taskId: request.Key?.task_id?.S, ...(errorCode !== undefined && { errorCode }) };
}

export class FaultInjector implements AwsInterceptor {
  private readonly counts = new Map<FaultName, number>();
  private readonly random: () => number;

  public constructor(
    public readonly plan: FaultPlan,
    private readonly workers: WorkerControl,
  ) {
    this.random = seededRandom(plan.seed ?? 1);
  }

  /** Rolls the dice for a fault, and counts it when it hits. */
  public roll(fault: FaultName): boolean {
    const rate = this.plan[fault] ?? 0;
    if (rate <= 0 || this.random() >= rate) return false;
    this.counts.set(fault, (this.counts.get(fault) ?? 0) + 1);
    return true;
  }

  /**
   * Throttled consumer completion writes. When the SDK's retries run out on one, the consumer fails the delivery
   * after its agent ran, and the retry runs the agent again: the same at-least-once window as a death there.
   */
  private completionWritesThrottled = 0;

  /** Claims not yet followed by their completion write, by task id. */
  private readonly openClaims = new Map<string, number>();
  /** Per task: attempts claimed while an earlier claim never recorded its outcome (a death, a time-out, a failed write). */
  private readonly interrupted = new Map<string, number>();
  /** Per task: async attempts recorded as lost. */
  private readonly lost = new Map<string, number>();
  /** Per task: consumer deaths injected at its writes. */
  private readonly died = new Map<string, number>();
  /** Waits recorded on task records, by reason. */
  private readonly waited: Record<LimitReason, number> = {
    AgentConcurrencyLimit: 0,
    AgentRateLimit: 0,
    TenantConcurrencyLimit: 0,
  };

  /**
   * Consumer deaths injected at a task's claim or completion write: its attempt held whatever limiter slots it had
   * been granted (they go back by lease). A death also ends the other deliveries its worker ran; those are not here,
   * they show as interrupted attempts.
   */
  public deaths(): ReadonlyMap<string, number> {
    return this.died;
  }

  /** Waits the consumers recorded on task records (the first of a task's waits, or a change of its reason). */
  public waits(): Readonly<Record<LimitReason, number>> {
    return { ...this.waited };
  }

  private kill(appId: string, taskId: string | undefined): void {
    if (taskId) this.died.set(taskId, (this.died.get(taskId) ?? 0) + 1);
    this.workers.killWorker(appId);
  }

  /**
   * Async attempts recorded as lost (`HeartbeatTimeout`, `AgentRunTimeExceeded`), by the consumer that found the
   * attempt's deadline passed or by the dead-letter sweep: the agent of such an attempt may have run on, so the
   * chaos run counts its runs against these.
   */
  public lostAttempts(): ReadonlyMap<string, number> {
    return this.lost;
  }

  /**
   * Attempts that started while an earlier attempt of the same task had not recorded its outcome: the only way a
   * task's agent can run twice. The chaos run checks each extra execution against these.
   */
  public interruptedAttempts(): ReadonlyMap<string, number> {
    return this.interrupted;
  }

  public injected(): InjectedFaults {
    return {
      ...(Object.fromEntries(FAULT_NAMES.map((f) => [f, this.counts.get(f) ?? 0])) as Record<
        FaultName,
        number
      >),
      completionWritesThrottled: this.completionWritesThrottled,
    };
  }

  public before(call: AwsCall): ProxyReply | undefined {
    if (call.service === 'sns' && (call.operation === 'Publish' || call.operation === 'PublishBatch')) {
      if (!this.roll('snsPublishFailure')) return undefined;
      return call.operation === 'Publish'
        ? snsError(500, 'InternalError', 'injected fault: publish failed')
        : publishBatchAllFailed(call.body);
    }
    const role = call.appId ? this.workers.roleOf(call.appId) : 'other';
    if (
      call.service === 'sqs' &&
      call.operation === 'SendMessage' &&
      role === 'producer' &&
      this.roll('sqsSendFailure')
    ) {
      return jsonError(500, 'com.amazonaws.sqs#InternalError', 'injected fault: SendMessage failed');
    }
    if (call.service === 'dynamodb' && this.roll('dynamodbThrottle')) {
      if (role === 'consumer' && consumerWrite(call)?.kind === 'completion')
        this.completionWritesThrottled += 1;
      return jsonError(
        400,
        'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        'injected fault: throughput exceeded',
      );
    }
    const write = role === 'consumer' ? consumerWrite(call) : undefined;
    if (call.appId && write?.kind === 'completion' && this.roll('dieAfterAgent')) {
      this.kill(call.appId, write.taskId);
      return { hang: true, status: 0, body: '' }; // the write never happens; the worker is gone
    }
    return undefined;
  }

  public after(call: AwsCall, status: number): 'hang' | undefined {
    if (status !== 200 || !call.appId) return undefined;
    const reason = waitWritten(call);
    if (reason !== undefined) this.waited[reason] += 1;
    const { kind: write, taskId, errorCode } = consumerWrite(call) ?? {};
    if (taskId && write === 'completion' && errorCode !== undefined && LOST_ATTEMPT_CODES.has(errorCode))
      this.lost.set(taskId, (this.lost.get(taskId) ?? 0) + 1);
    if (this.workers.roleOf(call.appId) !== 'consumer') {
      // An async attempt's end written by its agent's callback (or a task the sweep failed): the attempt recorded
      // its outcome, so the next claim is not an interrupted one. No fault is injected outside the consumer.
      if (taskId && write === 'completion') this.openClaims.delete(taskId);
      return undefined;
    }
    if (taskId && write === 'claim') {
      const open = this.openClaims.get(taskId) ?? 0;
      if (open > 0) this.interrupted.set(taskId, (this.interrupted.get(taskId) ?? 0) + 1);
      this.openClaims.set(taskId, 1);
    }
    // An `AgentTimeout` records that the consumer stopped waiting, not how the agent's call ended: an agent that
    // answered at its deadline, while a busy consumer's timer fired, did the work. So the attempt stays open, and
    // a later attempt counts as interrupted (the "agent outlives its deadline" window of docs/guarantees.md).
    if (taskId && write === 'completion' && errorCode !== TaskErrorCode.AgentTimeout)
      this.openClaims.delete(taskId);
    const dies =
      (write === 'claim' && this.roll('dieBeforeAgent')) ||
      (write === 'completion' && this.roll('dieAfterCompletion'));
    if (!dies) return undefined;
    this.kill(call.appId, taskId);
    return 'hang';
  }

  /** The demo agents' hook: a slow answer, or one that never comes within the agent's timeout. */
  public async agentDelay(agentTimeoutSeconds: number): Promise<void> {
    const ms = this.roll('agentTimeout')
      ? agentTimeoutSeconds * 1000 + 1000
      : this.roll('slowAgent')
        ? (this.plan.slowAgentMs ?? 500)
        : 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}
