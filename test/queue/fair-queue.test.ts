import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FairQueue } from '../../src/queue/index.js';
import { seededRandom } from '../support/seeded-random.js';

/** A queue of named no-op tasks; `take()` returns the name of the task dequeued. */
function namedQueue(): { queue: FairQueue; add: (id: string, ownerId: string, guildId?: string, priority?: number) => void; take: () => string | undefined } {
  const queue = new FairQueue();
  const names = new Map<unknown, string>();
  return {
    queue,
    add(id, ownerId, guildId = 'g', priority = 0) {
      const run = (): Promise<void> => Promise.resolve();
      names.set(run, id);
      queue.enqueue(run, { id, ownerId, guildId, priority });
    },
    take: () => names.get(queue.dequeue()),
  };
}

describe('FairQueue', () => {
  it('predicts with order() exactly what dequeue() returns, through random adds, removals and dequeues', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const next = seededRandom(seed);
      const { queue, add, take } = namedQueue();
      let ids = 0;
      for (let step = 0; step < 400; step++) {
        const roll = next();
        if (roll < 0.5) {
          add(`job${ids++}`, `member${Math.floor(next() * 6)}`, `guild${Math.floor(next() * 3)}`, next() < 0.05 ? 1 : 0);
        } else if (roll < 0.6) {
          const waiting = queue.order();
          const victim = waiting[Math.floor(next() * waiting.length)];
          if (victim !== undefined) queue.remove(victim);
          assert.equal(queue.order().includes(victim ?? ''), false);
        } else {
          const before = queue.order();
          assert.equal(take(), before[0], `seed ${seed}, step ${step}: dequeue() took what order() put first`);
          assert.deepEqual(queue.order(), before.slice(1), `seed ${seed}, step ${step}: the rest kept their order`);
        }
        assert.equal(queue.size, queue.order().length);
      }
      const predicted = queue.order();
      const drained: Array<string | undefined> = [];
      while (queue.size > 0) drained.push(take());
      assert.deepEqual(drained, predicted, `seed ${seed}: the drain followed the prediction`);
    }
  });

  it('does not give a second turn in the same round to a member who left and came back', () => {
    const { add, take } = namedQueue();
    add('ann 1', 'ann');
    add('ben 1', 'ben');
    add('ben 2', 'ben');
    assert.equal(take(), 'ann 1'); // ann has had her turn of this round and has nothing left
    add('ann 2', 'ann');
    assert.deepEqual([take(), take(), take()], ['ben 1', 'ben 2', 'ann 2']);
  });

  it('remembers the turn of a member whose job started while the queue ran empty', () => {
    const { add, take } = namedQueue();
    add('ann 1', 'ann');
    assert.equal(take(), 'ann 1');
    add('ann 2', 'ann');
    add('ben 1', 'ben');
    assert.deepEqual([take(), take()], ['ben 1', 'ann 2']);
  });

  it('puts jobs with a priority (retries, resumed jobs) in front, first come first served', () => {
    const { queue, add, take } = namedQueue();
    add('ann 1', 'ann');
    add('retry 1', 'ben', 'g', 1);
    add('retry 2', 'cem', 'g', 1);
    assert.deepEqual(queue.order(), ['retry 1', 'retry 2', 'ann 1']);
    queue.setPriority('retry 1', 0);
    assert.deepEqual([take(), take(), take()], ['retry 2', 'ann 1', 'retry 1']);
  });

  it('filters by owner and guild, and ignores unknown ids', () => {
    const { queue, add } = namedQueue();
    add('a', 'ann', 'g1');
    add('b', 'ann', 'g2');
    add('c', 'ben', 'g1');
    assert.equal(queue.filter({ ownerId: 'ann' }).length, 2);
    assert.equal(queue.filter({ ownerId: 'ann', guildId: 'g2' }).length, 1);
    queue.remove('nope');
    assert.equal(queue.size, 3);
    assert.throws(() => queue.enqueue(() => Promise.resolve(), { id: 'x' }), /needs `id`, `ownerId` and `guildId`/);
  });
});
