import { describe, expect, it } from 'vitest';
import { KeyedSemaphore } from '../../src/jobs/keyed-semaphore.js';
import { ParkedAttempts } from '../../src/jobs/parked-attempts.js';

describe('KeyedSemaphore', () => {
  it('never waits: a full key answers null at once, other keys are unaffected, a release is reported', () => {
    const released: string[] = [];
    const slots = new KeyedSemaphore(2, (key) => released.push(key));
    const a1 = slots.tryAcquire('a')!;
    const a2 = slots.tryAcquire('a')!;
    expect(slots.tryAcquire('a')).toBeNull();
    expect(slots.tryAcquire('b')).not.toBeNull();
    a1();
    a1(); // idempotent
    expect(released).toEqual(['a']);
    expect(slots.active('a')).toBe(1);
    expect(slots.tryAcquire('a')).not.toBeNull();
    a2();
    expect(slots.active('a')).toBe(1);
  });
});

describe('ParkedAttempts', () => {
  it('wakes the oldest parked attempt of the key whose slot freed, only after its run settled', () => {
    const woken: string[] = [];
    const parked = new ParkedAttempts<string>((job) => woken.push(job));
    parked.park('w1', 'd1', 'job-d1');
    parked.park('w1', 'd2', 'job-d2');
    parked.park('w2', 'd3', 'job-d3');
    parked.settled('d2', 'job-d2');

    parked.wakeNext('w1'); // d1 is oldest but its run has not settled yet: the wake waits for it
    expect(woken).toEqual([]);
    parked.settled('d1', 'job-d1');
    expect(woken).toEqual(['job-d1']);

    parked.wakeNext('w1');
    expect(woken).toEqual(['job-d1', 'job-d2']);
    parked.wakeNext('w1'); // nobody left for w1; w2's attempt is not woken by w1's slots
    expect(woken).toEqual(['job-d1', 'job-d2']);
    expect(parked.count('w2')).toBe(1);
  });

  it('keeps a re-parked delivery in its place, and forgets cancelled ones', () => {
    const woken: string[] = [];
    const parked = new ParkedAttempts<string>((job) => woken.push(job));
    parked.park('w', 'd1', 'run-1');
    parked.park('w', 'd2', 'run-1b');
    parked.park('w', 'd1', 'run-2'); // the lost-wake recheck ran d1 again and it parked again
    parked.settled('d1', 'run-1'); // the old run settling changes nothing
    parked.settled('d1', 'run-2');
    parked.settled('d2', 'run-1b');
    parked.forget('d2');
    parked.wakeNext('w');
    parked.wakeNext('w');
    expect(woken).toEqual(['run-2']);
    expect(parked.count('w')).toBe(0);
  });
});
