/**
 * fauxqs 2.4.1 is kinder than SQS in a few places, and a test that passes against a kinder emulator hides
 * a bug that shows only on AWS. These patches make it as strict as SQS, on the modules fauxqs itself loads,
 * before a server starts. Each one says what is wrong, where, and the fix upstream would need.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isSqsText } from '../lambda/core/json-text';
import { LOOPBACK, refuseForeign } from './loopback';

/** fauxqs is ESM-only: it is loaded with a real dynamic import, which CommonJS output would turn into require. */
export const importEsm = new Function('specifier', 'return import(specifier)') as <T>(
  specifier: string,
) => Promise<T>;

/** The file URL of a module inside fauxqs's dist folder (the package exports only its entry point). */
export function fauxqsModule(relative: string): string {
  const app = (require.resolve.paths('fauxqs') ?? [])
    .map((dir) => path.join(dir, 'fauxqs', 'dist', 'app.js'))
    .find((file) => existsSync(file));
  if (!app) throw new Error('fauxqs is not installed');
  return new URL(relative, pathToFileURL(app)).href;
}

type Handler = (body: Record<string, unknown>, store: FauxqsStore, request: unknown) => unknown;

interface SqsErrorClass {
  new (code: string, message: string): Error & { code: string };
}

interface InflightEntry {
  readonly message: { messageId: string; approximateReceiveCount: number };
  readonly receiptHandle: string;
  visibilityDeadline: number;
}

interface FauxqsQueue {
  readonly inflightMessages: Map<string, InflightEntry>;
  deleteMessage(receiptHandle: string): boolean;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
  processTimers(): void;
}

export interface FauxqsStore {
  getQueue(url: string): FauxqsQueue | undefined;
  getQueueByName(name: string): FauxqsQueue | undefined;
}

interface MessageAttribute {
  readonly DataType?: string;
  readonly StringValue?: string;
  readonly StringListValues?: readonly string[];
}

const ALLOWED = '#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]';

/** The first character SQS refuses, as SQS names it (`#x1B`, `#xFFFF`, `#xD800` for a lone surrogate). */
export function firstRefusedChar(text: string): string | undefined {
  for (const ch of text) {
    if (!isSqsText(ch)) return `#x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
  }
  return undefined;
}

/**
 * SQS's answer to a body it refuses: `InvalidMessageContents`, with the wording AWS uses
 * ("Invalid binary character '#x7' was found in the message body, the set of allowed characters is …").
 */
export function bodyError(body: string): { code: string; message: string } | undefined {
  const bad = isSqsText(body) ? undefined : firstRefusedChar(body);
  return bad
    ? {
        code: 'InvalidMessageContents',
        message: `Invalid binary character '${bad}' was found in the message body, the set of allowed characters is ${ALLOWED}.`,
      }
    : undefined;
}

/**
 * SQS's answer to a String (or Number) attribute value holding a refused character: `InvalidParameterValue`.
 * Values of every String list are checked the same way.
 */
export function attributesError(
  attributes: Readonly<Record<string, MessageAttribute>> | undefined,
): { code: string; message: string } | undefined {
  for (const [name, attribute] of Object.entries(attributes ?? {})) {
    const values = [
      ...(attribute.StringValue !== undefined ? [attribute.StringValue] : []),
      ...(attribute.StringListValues ?? []),
    ];
    for (const value of values) {
      if (isSqsText(value)) continue;
      return {
        code: 'InvalidParameterValue',
        message: `Invalid binary character '${firstRefusedChar(value)}' was found in the message attribute '${name}' value, the set of allowed characters is ${ALLOWED}.`,
      };
    }
  }
  return undefined;
}

/** The query-protocol error codes SQS sends with the `AWS.SimpleQueueService.` prefix. */
const PREFIXED_QUERY_CODES = new Set([
  'BatchEntryIdsNotDistinct',
  'BatchRequestTooLong',
  'EmptyBatchRequest',
  'InvalidBatchEntryId',
  'MessageNotInflight',
  'NonExistentQueue',
  'PurgeQueueInProgress',
  'QueueDeletedRecently',
  'TooManyEntriesInBatchRequest',
  'UnsupportedOperation',
]);

/** fauxqs names receipt handles with UUIDs; anything else is not a handle it could have given. */
const RECEIPT_HANDLE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The other in-flight handles of the message behind `handle` (an injected duplicate delivery makes them). */
function siblings(queue: FauxqsQueue, handle: string): string[] {
  const entry = queue.inflightMessages.get(handle);
  if (!entry) return [];
  return [...queue.inflightMessages.values()]
    .filter((e) => e.message === entry.message && e.receiptHandle !== handle)
    .map((e) => e.receiptHandle);
}

let patched: Promise<void> | undefined;
let lastStore: FauxqsStore | undefined;

/** The SQS store of the fauxqs server started last in this process. */
export function currentStore(): FauxqsStore | undefined {
  return lastStore;
}

/**
 * A second delivery of an in-flight message, as SQS makes one: a new receipt handle and a receive count one
 * higher, while the first delivery's handle stays valid. Deleting either copy deletes the message.
 * @returns the new handle and count, or nothing when the message is no longer in flight
 */
export function duplicateDelivery(
  store: FauxqsStore | undefined,
  queueName: string,
  receiptHandle: string,
): { receiptHandle: string; receiveCount: number } | undefined {
  const queue = store?.getQueueByName(queueName);
  const entry = queue?.inflightMessages.get(receiptHandle);
  if (!queue || !entry) return undefined;
  entry.message.approximateReceiveCount += 1;
  const handle = randomUUID();
  queue.inflightMessages.set(handle, {
    message: entry.message,
    receiptHandle: handle,
    visibilityDeadline: entry.visibilityDeadline,
  });
  return { receiptHandle: handle, receiveCount: entry.message.approximateReceiveCount };
}

/** Applies every patch once per process. */
export function patchFauxqs(): Promise<void> {
  patched ??= applyPatches();
  return patched;
}

async function applyPatches(): Promise<void> {
  const [{ INVALID_MESSAGE_BODY_CHAR }, { SqsRouter }, { SqsError }, { SqsQueue }] = await Promise.all([
    importEsm<{ INVALID_MESSAGE_BODY_CHAR: RegExp }>(fauxqsModule('sqs/sqsTypes.js')),
    importEsm<{
      SqsRouter: { prototype: { register(action: string, handler: Handler): void; store: FauxqsStore } };
    }>(fauxqsModule('sqs/sqsRouter.js')),
    importEsm<{ SqsError: SqsErrorClass }>(fauxqsModule('common/errors.js')),
    importEsm<{ SqsQueue: { prototype: FauxqsQueue } }>(fauxqsModule('sqs/sqsStore.js')),
  ]);

  // Upstream bug 1, sqs/sqsTypes.ts: INVALID_MESSAGE_BODY_CHAR is /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/
  // without the `u` flag, so it tests UTF-16 code units: both halves of every astral character (an emoji)
  // match, and every body with an emoji is refused, which SQS accepts. Fix: add the `u` flag and the range
  // \u{10000}-\u{10FFFF}; with `u`, a lone surrogate still matches, as SQS refuses it. Here every importer
  // shares the RegExp object, so its `test` is replaced with the rule of lambda/core/json-text.ts.
  INVALID_MESSAGE_BODY_CHAR.test = (text: string) => !isSqsText(text);

  // Upstream bug 6, common/errors.ts SqsError.queryErrorHeader: every error's x-amzn-query-error code gets the
  // `AWS.SimpleQueueService.` prefix. SQS prefixes only the codes below (the awsQueryError codes of the SQS
  // model in @aws-sdk/client-sqs); the SDK names errors after that header, so locally a refused body was
  // `AWS.SimpleQueueService.InvalidMessageContents` where AWS says `InvalidMessageContents`.
  // Fix: prefix only these codes.
  Object.defineProperty(SqsError.prototype, 'queryErrorHeader', {
    configurable: true,
    get(this: { queryCode: string; senderFault: boolean }) {
      const code = PREFIXED_QUERY_CODES.has(this.queryCode)
        ? `AWS.SimpleQueueService.${this.queryCode}`
        : this.queryCode;
      return `${code};${this.senderFault ? 'Sender' : 'Receiver'}`;
    },
  });

  const fail = (error: { code: string; message: string }) => {
    throw new SqsError(error.code, error.message);
  };
  /** The receipt handle of a request; a malformed one is refused as SQS refuses it. */
  const wellFormedHandle = (value: unknown): string => {
    const handle = String(value ?? '');
    if (handle && !RECEIPT_HANDLE.test(handle)) {
      fail({
        code: 'ReceiptHandleIsInvalid',
        message: `The input receipt handle "${handle}" is not a valid receipt handle.`,
      });
    }
    return handle;
  };
  const wrappers: Record<string, (next: Handler) => Handler> = {
    // Upstream bug 2, sqs/actions/sendMessage.ts and sendMessageBatch.ts: String attribute values are not
    // checked at all. SQS applies the body's character rule to them and answers InvalidParameterValue.
    // Fix: check each StringValue and StringListValues entry as the body is checked.
    SendMessage: (next) => (body, store, request) => {
      const error =
        bodyError(String(body.MessageBody ?? '')) ?? attributesError(body.MessageAttributes as never);
      if (error && body.MessageBody) fail(error);
      return next(body, store, request);
    },
    SendMessageBatch: (next) => (body, store, request) => {
      const entries = (body.Entries ?? []) as Array<Record<string, unknown>>;
      const refused = new Map<string, { code: string; message: string }>();
      for (const entry of entries) {
        const error = attributesError(entry.MessageAttributes as never);
        if (error) refused.set(String(entry.Id), error);
      }
      if (refused.size === 0 || entries.length > 10) return next(body, store, request);
      // The refused entries fail one by one, as SQS reports them; the others are sent.
      const rest = entries.filter((e) => !refused.has(String(e.Id)));
      const out = (rest.length > 0 ? next({ ...body, Entries: rest }, store, request) : {}) as {
        Successful?: unknown[];
        Failed?: unknown[];
      };
      return {
        Successful: out.Successful ?? [],
        Failed: [
          ...(out.Failed ?? []),
          ...[...refused].map(([Id, e]) => ({ Id, SenderFault: true, Code: e.code, Message: e.message })),
        ],
      };
    },
    // Upstream bug 3, sqs/actions/changeMessageVisibility.ts: a handle that is not (or no longer) in flight
    // gets MessageNotInflight, and a malformed one too. SQS answers InvalidParameterValue for a handle whose
    // message was deleted or received again, and ReceiptHandleIsInvalid for a malformed one (recorded
    // against AWS in LocalStack's snapshot tests). Fix: the same two answers.
    ChangeMessageVisibility: (next) => (body, store, request) => {
      const handle = wellFormedHandle(body.ReceiptHandle);
      try {
        return next(body, store, request);
      } catch (error) {
        if ((error as { code?: string }).code !== 'MessageNotInflight') throw error;
        return fail({
          code: 'InvalidParameterValue',
          message: `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
        });
      }
    },
    // Upstream bug 4, sqs/actions/deleteMessage.ts: any handle is accepted. SQS accepts a stale handle on a
    // standard queue, but refuses a malformed one with ReceiptHandleIsInvalid. Fix: check the handle's form.
    DeleteMessage: (next) => (body, store, request) => {
      wellFormedHandle(body.ReceiptHandle);
      return next(body, store, request);
    },
  };
  const register = SqsRouter.prototype.register;
  SqsRouter.prototype.register = function patchedRegister(action, handler) {
    lastStore = this.store;
    const wrap = wrappers[action];
    register.call(this, action, wrap ? wrap(handler) : handler);
  };

  // A duplicate delivery (duplicateDelivery above) gives one message two in-flight handles. Deleting either
  // deletes the message, and the message comes back once, not once per handle.
  const { deleteMessage, changeVisibility, processTimers } = SqsQueue.prototype;
  SqsQueue.prototype.deleteMessage = function patchedDelete(handle) {
    for (const other of siblings(this, handle)) this.inflightMessages.delete(other);
    return deleteMessage.call(this, handle);
  };
  SqsQueue.prototype.changeVisibility = function patchedChange(handle, seconds) {
    if (seconds === 0) for (const other of siblings(this, handle)) this.inflightMessages.delete(other);
    changeVisibility.call(this, handle, seconds);
  };
  SqsQueue.prototype.processTimers = function patchedTimers() {
    const now = Date.now();
    for (const entry of [...this.inflightMessages.values()]) {
      if (entry.visibilityDeadline <= now && this.inflightMessages.has(entry.receiptHandle)) {
        for (const other of siblings(this, entry.receiptHandle)) this.inflightMessages.delete(other);
      }
    }
    processTimers.call(this);
  };
}

/**
 * Upstream bug 5, app.ts startFauxqs: `app.listen({ port, host: "0.0.0.0" })` is hard-coded, so the queue
 * (every payload, and the right to send and delete) is open to the whole network. Fix: a `listenHost`
 * option, defaulting to 127.0.0.1. Here the listen call fauxqs makes while `start` runs is moved to
 * 127.0.0.1, and every request a browser or a foreign host name sends is refused (local/loopback.ts).
 */
export async function onLoopback<T>(start: () => Promise<T>): Promise<T> {
  const listen = NetServer.prototype.listen;
  NetServer.prototype.listen = function loopbackListen(this: NetServer, ...args: unknown[]) {
    const first = args[0] as { host?: string } | undefined;
    if (first && typeof first === 'object' && (first.host === '0.0.0.0' || first.host === '::')) {
      args[0] = { ...first, host: LOOPBACK };
      guardRequests(this);
    }
    return (listen as (...a: unknown[]) => NetServer).apply(this, args);
  } as typeof listen;
  try {
    return await start();
  } finally {
    NetServer.prototype.listen = listen;
  }
}

/** Puts the loopback guard in front of an HTTP server's request listeners. */
function guardRequests(server: NetServer): void {
  const listeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (listeners.length === 0) return;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseForeign(req, res)) return;
    for (const listener of listeners) listener.call(server, req, res);
  });
}
