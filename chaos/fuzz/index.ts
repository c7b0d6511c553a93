/**
 * API fuzzing: fast-check generates requests, sends them byte for byte over node:http, and checks the answers.
 * - Bad requests: every answer is a 4xx with a JSON error body, and nothing is enqueued.
 * - Valid tasks whose text a careless queue would change (astral characters, U+FFFE/U+FFFF, lone surrogates as
 *   `\uD800` escapes, numbers past double precision or range, bodies near the limit): each gets 202, and its
 *   echo result shows the payload reached the agent exactly (same JSON value, every number literal's digits).
 * - Valid tasks whose agent misbehaves (a huge answer, an answer after the timeout): each ends as expected
 *   (`ResultTooLarge`, or SUCCEEDED on a later attempt), and with the demo agents at hand no two executions of
 *   one task overlap.
 *
 * The parts, one concern each:
 * - request.ts: what a request is, and the pieces every generator builds one from;
 * - bad-requests.ts, valid-tasks.ts: the generators (and what is left out on purpose);
 * - wire.ts: sending a request exactly as generated;
 * - judge.ts: what is wrong with an answer, or with an accepted task once it has finished;
 * - probe.ts: counting what the queues and the task table hold;
 * - anchor.ts: the finished task that conflicting requests aim at;
 * - runner.ts: the run, with shrinking; report.ts: its report and how it is printed.
 */
export type { Anchor } from './anchor';
export { plantAnchor } from './anchor';
export { badRequests } from './bad-requests';
export type { Accepted, AgentOverlaps } from './judge';
export { checkAccepted, judge } from './judge';
export type { StoreCounts } from './probe';
export { storeCounts } from './probe';
export type { FuzzReport, FuzzViolation } from './report';
export { formatFuzzReport, requestText } from './report';
export type { Expectation, FuzzRequest } from './request';
export type { FuzzOptions } from './runner';
export { runFuzz } from './runner';
export { validTasks } from './valid-tasks';
export type { FuzzResponse } from './wire';
export { send } from './wire';
