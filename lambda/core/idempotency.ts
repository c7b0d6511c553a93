/**
 * Task identity. A task submitted with an idempotency key gets a task id derived from the key,
 * so that every retry of the request addresses the same table item and the same conditional write.
 */
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from './json-text';
import type { Submission } from './submission';

export function uuidFromDigest(digest: Buffer): string {
  const hex = digest.subarray(0, 16).toString('hex').split('');
  hex[12] = '8'; // RFC 9562 version 8: a custom, name-based UUID
  hex[16] = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The same key always yields the same task id; the raw key is never stored. */
export function taskIdForKey(idempotencyKey: string): string {
  return uuidFromDigest(createHash('sha256').update(`idempotency-key:${idempotencyKey}`).digest());
}

export function newTaskId(): string {
  return randomUUID();
}

/**
 * Identifies what a request asks for. Equal hashes with one key are a replay; different ones a conflict. The
 * canonical JSON keeps every number's exact value, so bodies that differ past double precision conflict, and
 * is the old sorted-keys `JSON.stringify` for everything a double holds, so stored hashes keep matching.
 * `tenantId` counts only when given, so that the hash of a request without one is what it was before tenants.
 */
export function requestHash(submission: Submission): string {
  const { type, payload, priority, delaySeconds, tenantId } = submission;
  return createHash('sha256')
    .update(
      canonicalJson({ type, payload, priority, delaySeconds, ...(tenantId !== undefined && { tenantId }) }),
    )
    .digest('base64url');
}
