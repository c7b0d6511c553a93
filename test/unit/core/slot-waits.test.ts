/**
 * The in-process waiting room (lambda/core/slot-waits.ts): who is handed a slot, and that a task handed one always
 * wakes with it.
 */
import type { SlotRequest } from '../../../lambda/core/limits';
import type { SlotGrant } from '../../../lambda/core/ports';
import { SlotWaits } from '../../../lambda/core/slot-waits';

const request = (holder: string, priority: 'high' | 'low' = 'low'): SlotRequest => ({
  holder,
  priority,
  nowMs: 0,
  holdUntilMs: 60_000,
  wakeUpMs: 5000,
});
const granted: SlotGrant = { granted: true, slots: { keys: ['agent#a'], holder: 'x' } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Class: SlotWaits', () => {
  it('hands a slot to the waiting high task first, then to the oldest', async () => {
    // Prepare
    const room = new SlotWaits();
    const woke: string[] = [];
    for (const [holder, priority] of [
      ['low-1', 'low'],
      ['high-1', 'high'],
      ['low-2', 'low'],
    ] as const) {
      void room.wait('agent#a', request(holder, priority), 60_000).then(() => woke.push(holder));
    }

    // Act
    const order = [room.take(['agent#a']), room.take(['agent#a']), room.take(['agent#a'])];
    for (const taken of order) taken?.give(granted);
    await sleep(0);

    // Assess
    expect(order.map((t) => t?.request.holder)).toEqual(['high-1', 'low-1', 'low-2']);
    expect(woke).toEqual(['high-1', 'low-1', 'low-2']);
    expect(room.take(['agent#a'])).toBeUndefined();
  });

  it('wakes a taken task with the slot handed to it, even when its own time ran out meanwhile', async () => {
    // Prepare
    const room = new SlotWaits();
    const woke = room.wait('agent#a', request('w'), 5);
    const taken = room.take(['agent#a'])!;

    // Act: the hand-off's write outlasts the task's timer
    await sleep(30);
    taken.give(granted);

    // Assess
    await expect(woke).resolves.toEqual({ kind: 'handed', grant: granted });
  });

  it('wakes a task to ask at its time, and leaves the room then', async () => {
    // Prepare
    const room = new SlotWaits();

    // Act
    const woke = await room.wait('agent#a', request('w'), 5);

    // Assess
    expect(woke).toEqual({ kind: 'ask' });
    expect(room.size).toBe(0);
  });

  it('wakes the first waiting task of a counter to ask when a slot of it is given back with nobody handed it', async () => {
    // Prepare
    const room = new SlotWaits();
    const other = room.wait('agent#b', request('b'), 60_000);
    const woke = room.wait('agent#a', request('a'), 60_000);

    // Act
    room.nudge(['agent#a']);

    // Assess
    await expect(woke).resolves.toEqual({ kind: 'ask' });
    expect(room.size).toBe(1);
    room.take(['agent#b'])!.give(undefined);
    await expect(other).resolves.toEqual({ kind: 'ask' });
  });

  it('counts the slots this process holds per counter', () => {
    // Prepare
    const room = new SlotWaits();

    // Act
    room.hold(['agent#a', 'tenant#t']);
    room.hold(['agent#a']);
    room.unhold(['agent#a', 'tenant#t']);

    // Assess
    expect([room.holds('agent#a'), room.holds('tenant#t')]).toEqual([true, false]);
  });
});
