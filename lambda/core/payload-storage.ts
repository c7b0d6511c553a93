/**
 * Where a task's payload travels from the producer to the consumer: in its queue message, or in an object of the
 * task bucket (the results bucket, under `payloads/`) that the message names (`payload_object`). Chosen by what
 * the trip costs, and by what SQS can carry at all.
 *
 * SQS bills a request for each 64 KiB chunk of its payload, on the send and on every receive; an S3 PUT costs
 * $5 per million and a GET $0.40 (us-east-1). A message of n chunks sent and received once costs 2n × $0.40 per
 * million; the object form costs a one-chunk message, the PUT and one GET: 0.8 + 5 + 0.4 = $6.20. The object
 * pays from 8 chunks on (6.4 > 6.2), so a message of more than 7 chunks (458,752 bytes) leaves its payload in the
 * bucket; every retry, wait and DLQ copy of it then moves one chunk, not eight or more. It also lifts SQS's 1 MiB
 * message limit: a body up to {@link LARGEST_MAX_BODY_BYTES} can be accepted.
 * @see https://aws.amazon.com/sqs/pricing/
 * @see https://aws.amazon.com/s3/pricing/
 */

/** SQS bills each 64 KiB chunk of a request's payload as one request. */
export const SQS_BILLING_CHUNK_BYTES = 65_536;

/** The most chunks a message keeps its payload in: from 8 on, the object costs less (see above). */
export const MAX_INLINE_PAYLOAD_CHUNKS = 7;

/** The largest message body that carries its payload: 7 chunks. */
export const MAX_INLINE_MESSAGE_BYTES = MAX_INLINE_PAYLOAD_CHUNKS * SQS_BILLING_CHUNK_BYTES;

/** Lambda's limit on a synchronous invocation's request, which carries API Gateway's event with the body in it. */
export const LAMBDA_SYNC_REQUEST_BYTES = 6_291_456;

/**
 * What API Gateway's event adds around a body at most, besides escaping it: the request context and the headers
 * (HTTP APIs take at most 10 KiB of headers), with room to spare.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const EVENT_OVERHEAD_BYTES = 65_536;

/**
 * The largest `maxBodyBytes` (POST /tasks): a body of that many bytes must reach the producer, inside an event
 * that Lambda accepts. The event is JSON and holds the body as a string, where each `"` and `\` of a JSON body
 * is escaped: at most twice its bytes (a body that is not text travels base64-encoded, 4/3 of its bytes). So
 * half of what the event may hold; payloads this large go to the task bucket.
 */
export const LARGEST_MAX_BODY_BYTES = Math.floor((LAMBDA_SYNC_REQUEST_BYTES - EVENT_OVERHEAD_BYTES) / 2);

/** Where payload objects are, under the task bucket. */
export const PAYLOAD_KEY_PREFIX = 'payloads/';

/**
 * The key of a task's payload object: its task id and the enqueue id of the request that sent it, so that two
 * racing requests for one idempotency key never overwrite each other's payload (only one of them wins the record;
 * the other's message is fenced out by its enqueue id).
 */
export const payloadObjectKey = (taskId: string, enqueueId: string): string =>
  `${PAYLOAD_KEY_PREFIX}${taskId}/${enqueueId}.json`;

/** Whether `key` names a payload object (what a message may point the consumer at). */
export function isPayloadObjectKey(key: unknown): key is string {
  return typeof key === 'string' && /^payloads\/[0-9a-f-]{36}\/[0-9a-f-]{36}\.json$/.test(key);
}

/** Whether a task whose message would have `messageBodyBytes` with its payload in it should keep it in the bucket. */
export function payloadGoesToObject(messageBodyBytes: number): boolean {
  return messageBodyBytes > MAX_INLINE_MESSAGE_BYTES;
}
