/**
 * How far ahead of its grant a consumer process stamps a rate-limited start (limits.ts `SlotRequest.stampLeadMs`).
 *
 * A call must reach its agent within RATE_STAMP_TOLERANCE_MS after its stamp. Between the grant and the call come
 * the grant's own write and the claim's, tens of milliseconds on a busy table; a start stamped at its grant's
 * decision is late by then, and the call first moves its stamp (`restamp`: another write, sometimes a read too)
 * while its slot stands idle. Stamped this process's usual delay ahead instead, the call is mostly on time, and an
 * early one waits for its stamp. No clock, no AWS: process-delivery.ts reports each delay and asks for the lead.
 */

/** How many of the latest delays the lead is taken from. */
export const STAMP_LEAD_SAMPLES = 32;

/**
 * The share of recent delays the lead covers. A call later than its stamp pays a write (about one delay); one
 * earlier waits the difference: covering three in four keeps both costs small.
 */
export const STAMP_LEAD_QUANTILE = 0.75;

/** The longest lead: a process whose delays are longer than this restamps instead. */
export const MAX_STAMP_LEAD_MS = 500;

export class StampLead {
  private readonly delays: number[] = [];

  /** A grant was decided `delayMs` before its call was ready to go. */
  public observe(delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) return;
    this.delays.push(delayMs);
    if (this.delays.length > STAMP_LEAD_SAMPLES) this.delays.shift();
  }

  /** The lead for the next ask: the STAMP_LEAD_QUANTILE of the latest delays (0 before any), at most the cap. */
  public leadMs(): number {
    if (this.delays.length === 0) return 0;
    const sorted = [...this.delays].sort((a, b) => a - b);
    const at = Math.min(sorted.length - 1, Math.floor(sorted.length * STAMP_LEAD_QUANTILE));
    return Math.min(MAX_STAMP_LEAD_MS, Math.round(sorted[at]!));
  }
}
