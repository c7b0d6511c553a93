// The logger module builds the function's logger when it loads, from LOG_LEVEL.
import '../support/log-level-info';
import { Logger } from '../../../lambda/adapters/logger';
import { TransitionLog } from '../../../lambda/adapters/transition-log';
import type { TransitionEvent } from '../../../lambda/core/process-delivery';

const TASK = { task_id: 't-1', type: 'echo', priority: 'low', attempt: 1 } as const;

/** A TransitionLog over a Logger at `level`; `lines()` flushes both and parses what was written. */
function capture(level: 'DEBUG' | 'INFO') {
  const writes: string[] = [];
  const logger = new Logger(level, (text) => writes.push(text));
  const log = new TransitionLog(logger);
  const lines = () => {
    log.flush();
    logger.flush();
    return writes
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const { timestamp: _t, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return rest;
      });
  };
  return { log, lines };
}

const event = (fields: Partial<TransitionEvent> & Pick<TransitionEvent, 'transition'>): TransitionEvent => ({
  ...TASK,
  ...fields,
});

describe('Class: TransitionLog', () => {
  it.each(['succeeded', 'failed', 'retrying', 'claim-lost', 'handed-off'] as const)(
    'folds a claim into the INFO line of its attempt’s end (%s), which carries the claim’s fields',
    (end) => {
      // Prepare
      const { log, lines } = capture('INFO');

      // Act
      log.record(event({ transition: 'claimed', queue_wait_ms: 35, agent_slots_in_use: 2 }));
      log.record(event({ transition: end, agent_ms: 12 }));

      // Assess
      expect(lines()).toEqual([
        {
          level: 'INFO',
          message: `task ${end}`,
          ...TASK,
          queue_wait_ms: 35,
          agent_slots_in_use: 2,
          agent_ms: 12,
        },
      ]);
    },
  );

  it('writes the claim line too at DEBUG', () => {
    // Prepare
    const { log, lines } = capture('DEBUG');

    // Act
    log.record(event({ transition: 'claimed', queue_wait_ms: 35 }));
    log.record(event({ transition: 'succeeded', agent_ms: 12, end_to_end_ms: 60 }));

    // Assess
    expect(lines().map((l) => [l.level, l.message])).toEqual([
      ['DEBUG', 'task claimed'],
      ['INFO', 'task succeeded'],
    ]);
  });

  it('logs at INFO, when the invocation ends, a claim whose attempt it did not end (the delivery threw)', () => {
    // Prepare
    const { log, lines } = capture('INFO');

    // Act
    log.record(event({ transition: 'claimed', queue_wait_ms: 35 }));

    // Assess
    expect(lines()).toEqual([{ level: 'INFO', message: 'task claimed', ...TASK, queue_wait_ms: 35 }]);
  });

  it('matches each end to its own task and attempt, in a batch', () => {
    // Prepare
    const { log, lines } = capture('INFO');

    // Act: t-1 claimed and ended; t-2 claimed at attempt 2, and an end of its attempt 1 (a stale copy) logged
    log.record(event({ transition: 'claimed', queue_wait_ms: 1 }));
    log.record(event({ task_id: 't-2', attempt: 2, transition: 'claimed' }));
    log.record(event({ task_id: 't-2', attempt: 1, transition: 'claim-lost' }));
    log.record(event({ transition: 'succeeded' }));

    // Assess: t-2's claim was not folded into another attempt's line, and shows when the invocation ends
    expect(lines().map((l) => [l.message, l.task_id, l.attempt, l.queue_wait_ms])).toEqual([
      ['task claim-lost', 't-2', 1, undefined],
      ['task succeeded', 't-1', 1, 1],
      ['task claimed', 't-2', 2, undefined],
    ]);
  });

  it.each(['waiting', 'released', 'skipped', 'adopted', 'lapsed', 'poison-message', 'fanned-out'] as const)(
    'logs a %s transition on a line of its own at INFO, leaving a pending claim alone',
    (transition) => {
      // Prepare
      const { log, lines } = capture('INFO');

      // Act
      log.record(event({ transition: 'claimed' }));
      log.record(event({ transition, detail: 'x' }));
      log.record(event({ transition: 'succeeded' }));

      // Assess
      expect(lines().map((l) => l.message)).toEqual([`task ${transition}`, 'task succeeded']);
    },
  );

  it('forgets the claims it logged: the next invocation starts afresh', () => {
    // Prepare
    const { log, lines } = capture('INFO');
    log.record(event({ transition: 'claimed' }));
    lines();

    // Act
    log.record(event({ transition: 'succeeded' }));

    // Assess: the end of the next invocation is its own line, with no claim of the last one
    expect(lines().map((l) => l.message)).toEqual(['task claimed', 'task succeeded']);
  });
});
