// runloop.snapshot and Snapshot against a real runloop-local: taking, waiting, updating,
// restoring, deleting, listing over several pages and filtering by metadata.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { NotFoundError, RunloopError, RunloopSDK, Snapshot } from 'runloop-wasm';

import { recordingFetch } from './support/fetch.mjs';
import { startServer } from './support/server.mjs';

let server;
let runloop;
let source;
const devboxes = [];

before(async () => {
  server = await startServer();
  runloop = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token });
  source = await runloop.devbox.create({ name: 'snapshot-source' });
  devboxes.push(source);
  await source.cmd.exec("echo 'kept' > kept.txt");
});

after(async () => {
  await Promise.allSettled(devboxes.map((devbox) => devbox.shutdown({ force: true })));
  await server?.stop();
});

describe('snapshot', () => {
  test('snapshotDisk resolves complete with info', async () => {
    const snapshot = await source.snapshotDisk(
      { name: 'one', metadata: { step: '1' }, commit_message: 'first' },
      { timeout: 120_000 },
    );

    assert.ok(snapshot instanceof Snapshot);
    assert.equal(snapshot.info.id, snapshot.id);
    assert.equal(snapshot.info.name, 'one');
    assert.deepEqual(snapshot.info.metadata, { step: '1' });
    const status = await snapshot.getInfo();
    assert.equal(status.status, 'complete');
    assert.equal(status.snapshot.commit_message, 'first');
    assert.deepEqual(await snapshot.queryStatus(), status);
  });

  test('snapshotDiskAsync then awaitCompleted', async () => {
    const snapshot = await source.snapshotDiskAsync({ name: 'two' });

    const done = await snapshot.awaitCompleted({ timeout: 120_000 });

    assert.equal(done.status, 'complete');
    assert.equal(done.snapshot.id, snapshot.id);
    assert.equal(done.error_message, undefined);
  });

  test('update replaces name and metadata', async () => {
    const snapshot = await source.snapshotDisk({ name: 'before', metadata: { a: '1' } });

    const updated = await snapshot.update({ name: 'after', metadata: { b: '2' } });

    assert.equal(updated.name, 'after');
    assert.deepEqual(updated.metadata, { b: '2' });
    assert.equal((await snapshot.getInfo()).snapshot.name, 'after');
  });

  test('createDevbox restores the files', async () => {
    const snapshot = await source.snapshotDisk({ name: 'restore' });

    const restored = await snapshot.createDevbox({ name: 'restored' }, { timeout: 120_000 });
    devboxes.push(restored);
    const again = await runloop.devbox.createFromSnapshot(snapshot.id);
    devboxes.push(again);

    assert.equal(await restored.file.read('kept.txt'), 'kept\n');
    assert.equal(await again.file.read('kept.txt'), 'kept\n');
    assert.equal((await restored.getInfo()).snapshot_id, snapshot.id);
  });

  test('delete removes it; status then rejects', async () => {
    const snapshot = await source.snapshotDisk({ name: 'doomed' });

    await snapshot.delete();

    await assert.rejects(snapshot.queryStatus(), NotFoundError);
    const listed = await runloop.snapshot.list({ devbox_id: source.id });
    assert.ok(!listed.some((item) => item.id === snapshot.id));
  });

  test('awaitCompleted ends on a deleted snapshot', async () => {
    const snapshot = await source.snapshotDisk({ name: 'gone' });
    await snapshot.delete();

    const error = await runloop.snapshot.fromId(snapshot.id).awaitCompleted({ timeout: 10_000 })
      .catch((e) => e);

    assert.ok(error instanceof Error, String(error));
    assert.ok(
      error instanceof NotFoundError || /deleted/.test(error.message),
      `got ${error.name}: ${error.message}`,
    );
  });
});

describe('snapshot list', () => {
  let lister;
  const ids = [];

  before(async () => {
    lister = await runloop.devbox.create({ name: 'lister' });
    devboxes.push(lister);
    for (let i = 0; i < 7; i += 1) {
      const team = i < 3 ? 'a' : i < 5 ? 'b' : 'c';
      const snapshot = await lister.snapshotDisk({ name: `page-${i}`, metadata: { team } });
      ids.push(snapshot.id);
    }
  });

  test('await collects three pages', async () => {
    const { fetch, calls } = recordingFetch();
    const counting = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    const listed = await counting.snapshot.list({ devbox_id: lister.id, limit: 3 });

    assert.deepEqual(listed.map((s) => s.id).sort(), [...ids].sort());
    for (const snapshot of listed) {
      assert.ok(snapshot instanceof Snapshot);
      assert.equal(snapshot.info.source_devbox_id, lister.id);
    }
    const pages = calls.filter((call) => call.url.includes('/disk_snapshots?'));
    assert.equal(pages.length, 3);
    assert.doesNotMatch(pages[0].url, /starting_after/);
    assert.match(pages[1].url, /starting_after=/);
  });

  test('for await fetches pages as it goes', async () => {
    const seen = [];
    for await (const snapshot of runloop.snapshot.list({ devbox_id: lister.id, limit: 2 })) {
      seen.push(snapshot.id);
    }

    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal(new Set(seen).size, seen.length);
  });

  test('metadata filter matches one value', async () => {
    const { fetch, calls } = recordingFetch();
    const counting = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    const teamA = await counting.snapshot.list({ devbox_id: lister.id, metadata: { team: 'a' } });

    assert.equal(teamA.length, 3);
    for (const snapshot of teamA) assert.equal(snapshot.info.metadata.team, 'a');
    assert.match(calls[0].url, /metadata%5Bteam%5D=a/);
  });

  test('metadata filter matches any of several values', async () => {
    const { fetch, calls } = recordingFetch();
    const counting = new RunloopSDK({ baseURL: server.baseURL, bearerToken: server.token, fetch });

    const teams = await counting.snapshot.list({
      devbox_id: lister.id,
      metadata: { team: ['a', 'c'] },
    });

    assert.equal(teams.length, 5);
    for (const snapshot of teams) assert.ok(['a', 'c'].includes(snapshot.info.metadata.team));
    assert.match(calls[0].url, /metadata%5Bteam%5D%5Bin%5D=a%2Cc/);
  });

  test('official metadata[key] names filter too', async () => {
    const teamB = await runloop.snapshot.list({ devbox_id: lister.id, 'metadata[team]': 'b' });
    const teamsAc = await runloop.api.devboxes.diskSnapshots.list({
      devbox_id: lister.id,
      'metadata[team][in]': 'a,c',
    });

    assert.equal(teamB.length, 2);
    for (const snapshot of teamB) assert.equal(snapshot.info.metadata.team, 'b');
    assert.equal(teamsAc.snapshots.length, 5);
    for (const view of teamsAc.snapshots) assert.ok(['a', 'c'].includes(view.metadata.team));
  });

  test('unknown filter keys are rejected', async () => {
    const cases = [
      () => runloop.snapshot.list({ devboxId: lister.id }),
      () => runloop.api.devboxes.listDiskSnapshots({ devbox: lister.id }),
      () => runloop.snapshot.prune({ devboxId: lister.id, keep: 0, dryRun: true }),
      () => runloop.devbox.list({ state: 'running' }).fetchPage(null),
      () => runloop.devbox.create({ nmae: 'typo' }),
    ];

    for (const call of cases) {
      const error = await call().then(
        () => null,
        (e) => e,
      );
      assert.ok(error instanceof RunloopError, `${call}: got ${error}`);
      assert.match(error.message, /Invalid params\.\w+: unknown field/, `${call}`);
    }
    const listed = await runloop.snapshot.list({ devbox_id: lister.id });
    assert.equal(listed.length, ids.length);
  });

  test('invalid metadata filter is rejected naming the key', async () => {
    const error = await runloop.snapshot.list({ metadata: { team: 5 } }).then(
      () => null,
      (e) => e,
    );

    assert.ok(error instanceof Error);
    assert.match(error.message, /params\.metadata\.team/);
  });
});
