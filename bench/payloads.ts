/**
 * Task payloads of about 1 KB for the cost figures. The echo agent answers `{ echo: payload }`, so the payload is
 * also the result the task record stores, and how well it compresses decides that record's write units
 * (lambda/core/result-storage.ts).
 *
 * - `repeated`: `{ n, data: 'x' × 1000 }`, the payload of every figure so far. It compresses to a few dozen bytes,
 *   which no agent's answer does.
 * - `prose`: what an agent might return: a summary of about 900 characters of English-like text drawn from a
 *   seeded word list (the same text for the same `n`), with a few tags and a score. Compressed with the store's
 *   codec it takes about half its size, as English text does.
 */

/** Common English words: text drawn from them has the letter and word statistics of prose, not of noise. */
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her she there one all we their can has more when will would if so no out up into do any your what ' +
  'time about than other some could them these may only new also its two like first over such after most now way ' +
  'made many before through where much should well back being used work three because how each even great life ' +
  'between own under never same world last long another state while around might down every year still must ' +
  'system since part people against right take small both place found children group during number without ' +
  'report source document customer order request answer question result summary data model agent task value'
).split(' ');

/** mulberry32: a small seeded generator, so that a payload is the same in every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** About `chars` characters of sentences of seeded words. */
export function proseText(seed: number, chars: number): string {
  const next = seeded(seed);
  const sentences: string[] = [];
  let length = 0;
  while (length < chars) {
    const words = Array.from(
      { length: 6 + Math.floor(next() * 12) },
      () => WORDS[Math.floor(next() * WORDS.length)]!,
    );
    const sentence = `${words[0]!.charAt(0).toUpperCase()}${words.join(' ').slice(1)}.`;
    sentences.push(sentence);
    length += sentence.length + 1;
  }
  return sentences.join(' ').slice(0, chars);
}

export const PAYLOADS = {
  repeated: (n: number) => ({ n, data: 'x'.repeat(1000) }),
  prose: (n: number) => ({
    n,
    summary: proseText(n, 954),
    tags: ['report', 'summary'],
    score: Math.round(seeded(n + 1)() * 1e4) / 1e4,
  }),
} as const;
export type PayloadKind = keyof typeof PAYLOADS;
