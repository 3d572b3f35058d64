// The helpers beyond the official SDK through the built package against a real
// runloop-local: fan-out and fork, checkpoint and rollback, snapshot pruning, progress
// events and scoped cleanup. Which devboxes still run is checked with raw fetch, not
// through the SDK under test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  APIUserAbortError,
  Devbox,
  NotFoundError,
  PollingTimeoutError,
  RunloopSDK,
  Snapshot,
} from 'runloop-wasm';

import { levels, runFanOutExample } from '../examples/fan-out.mjs';
import { startServer } from './support/server.mjs';

let server;
let runloop;
/** A complete snapshot of a devbox whose `marker.txt` contains `base`. */
let base;

/** Sends a raw API request and returns the parsed JSON body. */
async function raw(path) {
  const response = await fetch(`${server.baseURL}${path}`, {
    headers: { Authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

/** Ids of the devboxes the server reports as running. */
async function runningIds() {
  const page = await raw('/v1/devboxes?status=running&limit=5000');
  return new Set(page.devboxes.map((devbox) => devbox.id));
}

/** Fetches the server's view of each devbox. */
async function devboxViews(ids) {
  return Promise.all(ids.map((id) => raw(`/v1/devboxes/${id}`)));
}

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });

  const source = await runloop.devbox.create({ name: 'helpers-base' });
  await source.cmd.exec('echo base > marker.txt');
  base = await source.snapshotDisk({ name: 'helpers-base' });
  await source.shutdown();
});

after(async () => {
  await server?.stop();
});

describe('snapshot.fanOut', () => {
  test('runs fn on one restored devbox per index and shuts them all down', async () => {
    const events = [];
    const results = await base.fanOut(
      3,
      async (devbox, index, context) => {
        assert.ok(devbox instanceof Devbox);
        assert.equal(context.signal.aborted, false);
        const run = await devbox.cmd.exec(`cat marker.txt && echo ${index}`);
        return (await run.stdout()).split('\n').slice(0, 2).join(' ');
      },
      { onProgress: (event) => events.push(event) },
    );

    assert.deepEqual(
      results.map((result) => [result.index, result.status, result.value, result.devbox]),
      [
        [0, 'fulfilled', 'base 0', null],
        [1, 'fulfilled', 'base 1', null],
        [2, 'fulfilled', 'base 2', null],
      ],
    );
    const ids = results.map((result) => result.devboxId);
    assert.equal(new Set(ids).size, 3, 'each index has its own devbox');
    for (const view of await devboxViews(ids)) {
      assert.equal(view.status, 'shutdown', view.id);
      assert.equal(view.snapshot_id, base.id);
    }

    const phases = new Set(events.map((event) => event.phase));
    assert.deepEqual(
      [...phases].sort(),
      ['creating', 'done', 'running', 'settled', 'shutdown', 'waiting'],
    );
    const settled = events.filter((event) => event.phase === 'settled');
    assert.deepEqual(
      settled.map((event) => [event.done, event.total]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    );
    assert.ok(events.every((event) => typeof event.elapsedMs === 'number'));
    assert.equal(events.at(-1).phase, 'done');
  });

  test('concurrency 2 never has more than 2 devboxes at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const results = await base.fanOut(
      4,
      async (devbox) => {
        await devbox.cmd.exec('sleep 1');
        return devbox.id;
      },
      {
        concurrency: 2,
        onProgress: (event) => {
          if (event.phase === 'creating') inFlight += 1;
          if (event.phase === 'settled') inFlight -= 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
        },
      },
    );
    assert.equal(maxInFlight, 2, 'the progress counter saw at most 2 tasks in flight');

    // The server's own times: at each creation, count the devboxes alive then.
    const views = await devboxViews(results.map((result) => result.devboxId));
    const alive = (time) =>
      views.filter((view) => view.create_time_ms <= time && time < view.end_time_ms).length;
    const overlaps = views.map((view) => alive(view.create_time_ms));
    assert.equal(Math.max(...overlaps), 2, `devboxes alive at each creation: ${overlaps}`);
  });

  test('abort in the middle leaves no devbox running', async () => {
    const controller = new AbortController();
    const created = new Set();
    const signals = [];

    const fanOut = base.fanOut(
      4,
      async (devbox, _index, { signal }) => {
        signals.push(signal);
        // Abort once both tasks of the first round run their commands.
        if (signals.length === 2) setTimeout(() => controller.abort(), 200);
        await devbox.cmd.exec('sleep 60', {}, { signal });
      },
      {
        concurrency: 2,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.id?.startsWith('dbx_')) created.add(event.id);
        },
      },
    );

    await assert.rejects(fanOut, APIUserAbortError);
    assert.equal(created.size, 2, 'no devbox was created after the abort');
    assert.equal(signals.length, 2);
    assert.ok(signals.every((signal) => signal.aborted), "every task's signal fired");
    const stillRunning = await runningIds();
    for (const id of created) assert.ok(!stillRunning.has(id), `${id} still runs`);
    for (const view of await devboxViews([...created])) assert.equal(view.status, 'shutdown');
  });

  test('timeout rejects unfinished tasks and shuts their devboxes down', async () => {
    const started = Date.now();
    const results = await base.fanOut(
      2,
      async (devbox, index) => {
        if (index === 1) await devbox.cmd.exec('sleep 60');
        return 'quick';
      },
      { timeout: 3_000 },
    );
    assert.ok(Date.now() - started < 20_000, 'the fan-out ended at its timeout');

    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.ok(results[1].error instanceof PollingTimeoutError, String(results[1].error));
    assert.match(results[1].error.message, /3000 ms/);
    const views = await devboxViews(results.map((result) => result.devboxId));
    assert.deepEqual(
      views.map((view) => view.status),
      ['shutdown', 'shutdown'],
    );
  });

  test('a throwing task rejects its own result only', async () => {
    const results = await base.fanOut(2, (_devbox, index) => {
      if (index === 0) throw new TypeError('task 0 broke');
      return 'fine';
    });

    assert.equal(results[0].status, 'rejected');
    assert.ok(results[0].error instanceof TypeError);
    assert.equal(results[0].error.message, 'task 0 broke');
    assert.equal(results[1].value, 'fine');
  });

  test('keepDevboxes as a function keeps the chosen devbox running', async () => {
    const results = await base.fanOut(3, (_devbox, index) => index * 10, {
      keepDevboxes: (result, all) => {
        assert.equal(all.length, 3);
        assert.ok(result.devbox instanceof Devbox, 'the devbox is still running when deciding');
        return result.status === 'fulfilled' && result.value === 10;
      },
    });

    assert.equal(results[0].devbox, null);
    assert.equal(results[2].devbox, null);
    const kept = results[1].devbox;
    assert.ok(kept instanceof Devbox);
    assert.equal(kept.id, results[1].devboxId);
    assert.equal((await kept.getInfo()).status, 'running');
    const views = await devboxViews([results[0].devboxId, results[2].devboxId]);
    assert.deepEqual(
      views.map((view) => view.status),
      ['shutdown', 'shutdown'],
    );
    await kept.shutdown();
  });

  test('invalid arguments reject before any devbox is created', async () => {
    const before = (await raw('/v1/devboxes?limit=5000')).devboxes.length;
    await assert.rejects(base.fanOut(-1, () => 1), /Invalid count/);
    await assert.rejects(base.fanOut(2, 'not a function'), /Invalid fn/);
    await assert.rejects(base.fanOut(2, () => 1, { concurrency: 0 }), /concurrency/);
    await assert.rejects(base.fanOut(2, () => 1, { keepDevboxes: 'yes' }), /keepDevboxes/);
    assert.equal((await raw('/v1/devboxes?limit=5000')).devboxes.length, before);
  });
});

describe('devbox.fork', () => {
  test('forks a live devbox and deletes the snapshot afterwards', async () => {
    await runloop.devbox.with({ name: 'fork-source' }, async (source) => {
      await source.cmd.exec('echo forked > state.txt');

      const results = await source.fork(2, async (copy) => {
        return (await copy.file.read('state.txt')).trim();
      });

      assert.deepEqual(
        results.map((result) => result.value),
        ['forked', 'forked'],
      );
      const snapshots = await runloop.snapshot.list({ devbox_id: source.id });
      assert.deepEqual(snapshots, [], "the fork's snapshot is deleted");
      assert.equal((await source.getInfo()).status, 'running', 'the source keeps running');
    });
  });
});

describe('devbox.checkpoint', () => {
  test('a failure rolls the disk back to the checkpoint', async () => {
    const devbox = await runloop.devbox.create({ name: 'checkpointed', metadata: { kind: 'rollback' } });
    await devbox.file.write({ file_path: 'state.txt', contents: 'v1' });

    const result = await devbox.checkpoint(async (box) => {
      await box.file.write({ file_path: 'state.txt', contents: 'v2' });
      throw new Error('migration failed');
    });

    assert.equal(result.status, 'rejected');
    assert.equal(result.error.message, 'migration failed');
    assert.equal(result.restored, true);
    assert.equal(result.failedDevboxId, devbox.id);
    assert.equal(result.checkpoint, null);
    assert.notEqual(result.devbox.id, devbox.id);
    assert.equal(await result.devbox.file.read('state.txt'), 'v1');
    const restoredInfo = await result.devbox.getInfo();
    assert.equal(restoredInfo.name, 'checkpointed');
    assert.deepEqual(restoredInfo.metadata, { kind: 'rollback' });
    assert.equal((await devbox.getInfo()).status, 'shutdown');
    assert.deepEqual(await runloop.snapshot.list({ devbox_id: devbox.id }), []);
    await result.devbox.shutdown();
  });

  test('a success keeps the changes and, when asked, the checkpoint', async () => {
    const devbox = await runloop.devbox.create();
    await devbox.file.write({ file_path: 'state.txt', contents: 'v1' });

    const result = await devbox.checkpoint(
      async (box) => {
        await box.file.write({ file_path: 'state.txt', contents: 'v3' });
        return 'migrated';
      },
      { keepCheckpoint: true },
    );

    assert.equal(result.status, 'fulfilled');
    assert.equal(result.value, 'migrated');
    assert.equal(result.restored, false);
    assert.equal(result.failedDevboxId, null);
    assert.equal(result.devbox.id, devbox.id);
    assert.equal(await devbox.file.read('state.txt'), 'v3');
    assert.ok(result.checkpoint instanceof Snapshot);
    const fromCheckpoint = await result.checkpoint.createDevbox();
    assert.equal(await fromCheckpoint.file.read('state.txt'), 'v1');
    await fromCheckpoint.shutdown();
    await result.checkpoint.delete();
    await devbox.shutdown();
  });

  test('a timeout counts as a failure', async () => {
    const devbox = await runloop.devbox.create();
    const result = await devbox.checkpoint(
      async (box, { signal }) => {
        await box.cmd.exec('sleep 60', {}, { signal }).catch(() => {});
        return 'too late';
      },
      { timeout: 1_500 },
    );

    assert.equal(result.status, 'rejected');
    assert.ok(result.error instanceof PollingTimeoutError);
    assert.equal(result.restored, true);
    assert.equal((await result.devbox.getInfo()).status, 'running');
    await result.devbox.shutdown();
  });
});

describe('runloop.snapshot.prune', () => {
  test('prune skips captures in progress', async () => {
    const devbox = await runloop.devbox.create({ name: 'prune-source' });
    const taken = [];
    for (const step of ['1', '2', '3']) {
      await devbox.cmd.exec(`echo ${step} > step.txt`);
      taken.push(await devbox.snapshotDisk({ metadata: { prune: 'test', step } }));
    }
    const other = await devbox.snapshotDisk({ metadata: { prune: 'other' } });

    // A gigabyte to copy keeps the next capture in progress for about a second or more.
    await devbox.cmd.exec('head -c 1G /dev/zero > big.bin');
    const inProgress = await devbox.snapshotDiskAsync({ metadata: { prune: 'test' } });

    const params = { devbox_id: devbox.id, metadata: { prune: 'test' }, keep: 1, limit: 2 };
    const plan = await runloop.snapshot.prune({ ...params, dryRun: true });
    const result = await runloop.snapshot.prune(params);
    const statusAfter = await inProgress.queryStatus();
    assert.equal(
      statusAfter.status,
      'in_progress',
      'precondition: the capture was still in progress while prune ran',
    );

    const ids = (views) => views.map((view) => view.id);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(ids(plan.deleted), [taken[1].id, taken[0].id]);
    assert.deepEqual(ids(plan.kept), [taken[2].id]);
    assert.deepEqual(
      plan.skipped.map((entry) => [entry.snapshot.id, entry.status]),
      [[inProgress.id, 'in_progress']],
    );

    assert.equal(result.dryRun, false);
    assert.deepEqual(ids(result.deleted), ids(plan.deleted));
    assert.deepEqual(result.failed, []);
    await assert.rejects(taken[0].queryStatus(), NotFoundError);
    await assert.rejects(taken[1].queryStatus(), NotFoundError);
    assert.equal((await taken[2].queryStatus()).status, 'complete');
    assert.equal((await other.queryStatus()).status, 'complete', 'other metadata is untouched');

    assert.equal((await inProgress.awaitCompleted({ timeout: 300_000 })).status, 'complete');
    await devbox.shutdown();
    for (const snapshot of [taken[2], other, inProgress]) await snapshot.delete();
  });

  test('olderThan as a Date or an age, and invalid params', async () => {
    const devbox = await runloop.devbox.create();
    const first = await devbox.snapshotDisk();
    const second = await devbox.snapshotDisk();
    const cutoff = new Date((await second.queryStatus()).snapshot.create_time_ms);

    const byDate = await runloop.snapshot.prune({ devbox_id: devbox.id, olderThan: cutoff, dryRun: true });
    assert.deepEqual(
      byDate.deleted.map((view) => view.id),
      [first.id],
    );
    const byAge = await runloop.snapshot.prune({ devbox_id: devbox.id, olderThan: 3_600_000 });
    assert.deepEqual(byAge.deleted, [], 'nothing is an hour old');

    await assert.rejects(runloop.snapshot.prune({ devbox_id: devbox.id }), /keep, olderThan/);
    await assert.rejects(runloop.snapshot.prune({ keep: 1, olderThan: 'yesterday' }), /olderThan/);
    await devbox.shutdown();
    await first.delete();
    await second.delete();
  });
});

describe('progress', () => {
  test('create and snapshotDisk report their phases', async () => {
    const events = [];
    const devbox = await runloop.devbox.create({}, { onProgress: (event) => events.push(event) });
    assert.equal(events[0].phase, 'creating');
    assert.deepEqual(
      [events.at(-1).phase, events.at(-1).status, events.at(-1).id],
      ['waiting', 'running', devbox.id],
    );

    events.length = 0;
    const snapshot = await devbox.snapshotDisk({}, { onProgress: (event) => events.push(event) });
    assert.deepEqual(
      [events[0].phase, events[0].id],
      ['starting', devbox.id],
    );
    assert.deepEqual(
      [events.at(-1).phase, events.at(-1).status, events.at(-1).id],
      ['waiting', 'complete', snapshot.id],
    );
    await devbox.shutdown();
    await snapshot.delete();
  });

  test('file upload and download report bytes', async () => {
    await runloop.devbox.with({}, async (devbox) => {
      const events = [];
      const record = (event) => events.push([event.phase, event.done, event.total]);
      await devbox.file.upload({ path: 'blob.bin', file: new Uint8Array(3000) }, { onProgress: record });
      assert.deepEqual(events, [
        ['uploading', 0, 3000],
        ['done', 3000, 3000],
      ]);

      events.length = 0;
      const bytes = await devbox.file.download({ path: 'blob.bin' }, { onProgress: record });
      assert.equal(bytes.length, 3000);
      assert.deepEqual(events, [
        ['downloading', 0, undefined],
        ['done', 3000, 3000],
      ]);
    });
  });

  test('a throwing callback warns once and the operation goes on', async () => {
    const warnings = [];
    const originalWarn = console.warn;
    console.warn = (...args) => warnings.push(args);
    let calls = 0;
    try {
      const devbox = await runloop.devbox.create(
        {},
        {
          onProgress: () => {
            calls += 1;
            throw new Error('callback bug');
          },
        },
      );
      assert.equal((await devbox.getInfo()).status, 'running');
      await devbox.shutdown();
    } finally {
      console.warn = originalWarn;
    }
    assert.ok(calls >= 2, `the callback kept being called (${calls} calls)`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0][0], /onProgress callback threw/);
    assert.equal(warnings[0][1].message, 'callback bug');
    await assert.rejects(runloop.devbox.create({}, { onProgress: 'no' }), /onProgress/);
  });
});

describe('scoped cleanup', () => {
  test('Symbol.asyncDispose shuts a devbox down and tolerates a second call', async () => {
    assert.equal(typeof Symbol.asyncDispose, 'symbol');
    const devbox = await runloop.devbox.create();
    await devbox[Symbol.asyncDispose]();
    assert.equal((await devbox.getInfo()).status, 'shutdown');
    await devbox[Symbol.asyncDispose]();
    assert.ok(!(await runningIds()).has(devbox.id));
  });

  test('snapshot.disposable() deletes the snapshot', async () => {
    const devbox = await runloop.devbox.create();
    const snapshot = await devbox.snapshotDisk();
    const disposable = snapshot.disposable();
    assert.equal(disposable.snapshot, snapshot);

    await disposable[Symbol.asyncDispose]();
    await assert.rejects(snapshot.queryStatus(), NotFoundError);
    await disposable[Symbol.asyncDispose]();
    await devbox.shutdown();
  });

  test('runloop.devbox.with returns the value and shuts down, also on failure', async () => {
    let usedId;
    const value = await runloop.devbox.with({ name: 'scoped' }, async (devbox) => {
      usedId = devbox.id;
      return (await devbox.cmd.exec('echo scoped')).stdout();
    });
    assert.equal(value, 'scoped\n');
    assert.equal((await raw(`/v1/devboxes/${usedId}`)).status, 'shutdown');

    const failure = new RangeError('inside the scope');
    await assert.rejects(
      runloop.devbox.with({}, (devbox) => {
        usedId = devbox.id;
        throw failure;
      }),
      (error) => error === failure,
    );
    assert.equal((await raw(`/v1/devboxes/${usedId}`)).status, 'shutdown');
  });
});

describe('examples/fan-out.mjs', () => {
  test('compares three gzip levels and keeps the best devbox', async () => {
    const steps = [];
    const { results, kept } = await runFanOutExample(runloop, (step, detail) => {
      steps.push(`${step}: ${detail}`);
    });

    assert.equal(results.length, levels.length);
    assert.ok(results.every((result) => result.status === 'fulfilled'));
    const smallest = Math.min(...results.map((result) => result.value.bytes));
    assert.equal(kept.value.bytes, smallest);
    assert.equal(results.filter((result) => result.devbox !== null).length, 1);
    assert.match(steps.at(-1), /intact/);
    const views = await devboxViews(results.map((result) => result.devboxId));
    assert.ok(views.every((view) => view.status === 'shutdown'), 'the example cleans up');
    assert.ok(!(await runningIds()).has(kept.devboxId));
  });
});

test('no devbox is left running by these tests', async () => {
  const stillRunning = await runningIds();
  assert.deepEqual([...stillRunning], []);
});
