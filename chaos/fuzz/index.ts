/**
 * API fuzzing: fast-check generates requests, sends them byte for byte over node:http, and checks the answers.
 * - Bad requests: every answer is a 4xx with a JSON error body, and nothing is enqueued.
 * - Valid tasks whose text a careless queue would change (astral characters, U+FFFE/U+FFFF, lone surrogates as
 *   `\uD800` escapes, numbers past double precision or range, bodies near the limit): each gets 202, and its
 *   echo result shows the payload reached the agent exactly (same JSON value, every number literal's digits).
 * - Valid tasks whose agent misbehaves (a huge answer, an answer after the timeout): each ends as expected
 *   (`ResultTooLarge`, or SUCCEEDED on a later attempt), and with the demo agents at hand no two executions of
 *   one task overlap.
 * - Bad callback requests (POST /tasks/{id}/heartbeat and /complete with a token no attempt was given): each
 *   gets one of the errors its broken parts allow, and none changes a task: the running async task they aim at
 *   is still RUNNING in its first attempt at the end, and ends CANCELLED when the fuzz cancels it.
 *
 * The parts, one concern each:
 * - request.ts: what a request is, and the pieces every generator builds one from;
 * - bad-requests.ts, valid-tasks.ts: the generators (and what is left out on purpose);
 * - wire.ts: sending a request exactly as generated;
 * - judge.ts: what is wrong with an answer, or with an accepted task once it has finished;
 * - probe.ts: counting what the queues and the task table hold;
 * - anchor.ts: the finished task that conflicting requests aim at;
 * - callback-requests.ts, callback-anchor.ts: bad POST /tasks/{id}/heartbeat and /complete requests, each with
 *   a token no attempt was given, and the running async task they aim at, which none of them may change;
 * - runner.ts: the run, with shrinking; report.ts: its report and how it is printed.
 */
export type { Anchor } from './anchor';
export { plantAnchor } from './anchor';
export { badRequests } from './bad-requests';
export type { CallbackAnchor } from './callback-anchor';
export { callbackAnchorProblem, plantCallbackAnchor } from './callback-anchor';
export type { CallbackTargets } from './callback-requests';
export { callbackRequestKinds, callbackRequests } from './callback-requests';
export type { Accepted, AgentOverlaps } from './judge';
export { answerOf, checkAccepted, judge } from './judge';
export type { StoreCounts } from './probe';
export { storeCounts } from './probe';
export type { FuzzReport, FuzzViolation } from './report';
export { formatFuzzReport, requestText } from './report';
export type { Expectation, FuzzRequest } from './request';
export type { FuzzOptions } from './runner';
export { runFuzz } from './runner';
export { validTasks } from './valid-tasks';
export type { FuzzResponse } from './wire';
export { send, sendLookup } from './wire';
