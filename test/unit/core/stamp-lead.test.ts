/**
 * How far ahead of its grant a consumer stamps a rate-limited start (lambda/core/stamp-lead.ts): the usual delay
 * from its grants to their calls, learnt from the latest ones.
 */
import {
  MAX_STAMP_LEAD_MS,
  STAMP_LEAD_QUANTILE,
  STAMP_LEAD_SAMPLES,
  StampLead,
} from '../../../lambda/core/stamp-lead';

describe('Class: StampLead', () => {
  it('leads by nothing before any grant reached its call', () => {
    // Act
    const lead = new StampLead().leadMs();

    // Assess
    expect(lead).toBe(0);
  });

  it('leads by the delay that covers three in four of the latest calls', () => {
    // Prepare
    const lead = new StampLead();

    // Act: delays 1..100 ms, in no order
    for (let i = 0; i < 100; i++) lead.observe(((i * 37) % 100) + 1);

    // Assess: only the latest STAMP_LEAD_SAMPLES count
    const latest = Array.from(
      { length: STAMP_LEAD_SAMPLES },
      (_, k) => (((100 - STAMP_LEAD_SAMPLES + k) * 37) % 100) + 1,
    ).sort((a, b) => a - b);
    expect(lead.leadMs()).toBe(latest[Math.floor(STAMP_LEAD_SAMPLES * STAMP_LEAD_QUANTILE)]);
  });

  it('forgets the delays of a burst once newer ones replace them', () => {
    // Prepare: a slow burst, then a quiet table
    const lead = new StampLead();
    for (let i = 0; i < STAMP_LEAD_SAMPLES; i++) lead.observe(300);

    // Act
    for (let i = 0; i < STAMP_LEAD_SAMPLES; i++) lead.observe(8);

    // Assess
    expect(lead.leadMs()).toBe(8);
  });

  it('never leads by more than the cap, and ignores delays that are not', () => {
    // Prepare
    const lead = new StampLead();

    // Act
    lead.observe(Number.NaN);
    lead.observe(-5);
    lead.observe(60_000);

    // Assess
    expect(lead.leadMs()).toBe(MAX_STAMP_LEAD_MS);
  });
});
