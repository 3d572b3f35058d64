// Rollback, retention and scoped cleanup through the runloop-wasm SDK: a risky change runs
// under a checkpoint and is rolled back when it fails, old snapshots are pruned down to the
// newest one, and `runloop.devbox.with` shuts its devbox down however the work ends.
//
// Run it against any Runloop API (runloop-local included):
//   RUNLOOP_BASE_URL=http://127.0.0.1:PORT RUNLOOP_API_KEY=TOKEN \
//     node examples/rollback-and-cleanup.mjs

import { pathToFileURL } from 'node:url';

import { RunloopSDK } from 'runloop-wasm';

/**
 * Runs the example and returns what each step produced, so tests can assert on it.
 * Everything it creates is removed before it returns.
 *
 * @param {RunloopSDK} runloop
 * @param {(step: string, detail?: string) => void} [log] called once per finished step
 */
export async function runRollbackExample(runloop, log = () => {}) {
  return runloop.devbox.with({ name: 'rollback-example' }, async (devbox) => {
    await devbox.file.write({ file_path: 'config.txt', contents: 'version=1\n' });
    log('1. Wrote config.txt', 'version=1');

    // The change writes version=2, then fails its check, so the checkpoint restores version=1.
    const outcome = await devbox.checkpoint(async (box) => {
      await box.file.write({ file_path: 'config.txt', contents: 'version=2\n' });
      const check = await box.cmd.exec('grep -q version=3 config.txt');
      if (check.exitCode !== 0) throw new Error('the new config failed its check');
    });
    const current = outcome.devbox;
    const afterRollback = await current.file.read('config.txt');
    log(
      '2. Ran a failing change under a checkpoint',
      `${outcome.status}, restored: ${outcome.restored}, config.txt: ${afterRollback.trim()}`,
    );

    try {
      const snapshots = [];
      for (const name of ['nightly-1', 'nightly-2', 'nightly-3']) {
        snapshots.push(await current.snapshotDisk({ name }));
      }
      const plan = await runloop.snapshot.prune({ devbox_id: current.id, keep: 1, dryRun: true });
      const pruned = await runloop.snapshot.prune({ devbox_id: current.id, keep: 1 });
      log(
        '3. Took three snapshots and pruned all but the newest',
        `dry run: ${plan.deleted.length} to delete; deleted ${pruned.deleted.length}, ` +
          `kept ${pruned.kept.map((s) => s.name).join(', ')}`,
      );

      for (const snapshot of await runloop.snapshot.list({ devbox_id: current.id })) {
        await snapshot.delete();
      }
      return {
        status: outcome.status,
        restored: outcome.restored,
        afterRollback,
        plannedDeletes: plan.deleted.length,
        deleted: pruned.deleted.map((s) => s.name),
        kept: pruned.kept.map((s) => s.name),
        currentId: current.id,
        snapshotIds: snapshots.map((s) => s.id),
      };
    } finally {
      // `with` shuts down the devbox it created; the restored one is this example's to end.
      if (current.id !== devbox.id) await current[Symbol.asyncDispose]();
    }
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runloop = new RunloopSDK();
  await runRollbackExample(runloop, (step, detail) => {
    console.log(detail === undefined ? step : `${step}: ${detail}`);
  });
}
