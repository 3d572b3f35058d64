// The disk snapshot workflow, step by step, through the runloop-wasm SDK. It creates a devbox,
// writes a file and snapshots it. A new devbox boots from the snapshot and reads the file.
// Then it takes a second snapshot asynchronously, deletes the snapshots and shuts down.
//
// Run it against any Runloop API (runloop-local included):
//   RUNLOOP_BASE_URL=http://127.0.0.1:PORT RUNLOOP_API_KEY=TOKEN node examples/snapshot-workflow.mjs
// `npm run demo` starts runloop-local and runs it for you.

import { pathToFileURL } from 'node:url';

import { RunloopSDK } from 'runloop-wasm';

/**
 * Runs the workflow and returns what each step produced, so tests can assert on it.
 *
 * @param {RunloopSDK} runloop
 * @param {(step: string, detail?: string) => void} [log] called once per finished step
 * @param {(event: import('runloop-wasm').ProgressEvent) => void} [onProgress] called with the
 *   progress of the devbox creation and the snapshots
 */
export async function runSnapshotWorkflow(runloop, log = () => {}, onProgress = undefined) {
  const progress = onProgress === undefined ? {} : { onProgress };
  const devboxes = [];

  try {
    const source = await runloop.devbox.create({ name: 'snapshot-workflow-source' }, progress);
    devboxes.push(source);
    const sourceInfo = await source.getInfo();
    log('1. Created a devbox and waited until it runs', `${source.id} is ${sourceInfo.status}`);

    const write = await source.cmd.exec("echo 'Hello, World!' > hello.txt");
    log("2. Ran echo 'Hello, World!' > hello.txt", `exit code ${write.exitCode}`);

    const snapshot = await source.snapshotDisk(
      { name: 'hello-snapshot', metadata: { example: 'snapshot-workflow' } },
      progress,
    );
    const snapshotStatus = await snapshot.queryStatus();
    log('3. Took a disk snapshot', `${snapshot.id} is ${snapshotStatus.status}`);

    const restored = await snapshot.createDevbox({ name: 'snapshot-workflow-restored' });
    devboxes.push(restored);
    const restoredInfo = await restored.getInfo();
    log('4. Created a devbox from the snapshot', `${restored.id} is ${restoredInfo.status}`);

    const contents = await restored.file.read({ file_path: 'hello.txt' });
    log('5. Read hello.txt in the restored devbox', JSON.stringify(contents));

    const asyncSnapshot = await source.snapshotDiskAsync({ name: 'hello-snapshot-async' });
    log('6. Started a second snapshot asynchronously', `got ${asyncSnapshot.id} at once`);
    const asyncStatus = await asyncSnapshot.awaitCompleted({ timeout: 120_000, ...progress });
    log('   Waited for it to complete', asyncStatus.status);

    const listed = await runloop.snapshot.list({ devbox_id: source.id });
    log('7. Listed the snapshots of the first devbox', listed.map((s) => s.id).join(', '));

    const newestFirst = [...listed].sort((a, b) => b.info.create_time_ms - a.info.create_time_ms);
    const [newest, ...older] = newestFirst;
    for (const old of older) await old.delete();
    log('   Deleted all but the newest', older.map((s) => s.id).join(', ') || 'nothing to delete');

    await newest.delete();
    log('   Deleted the newest snapshot too', newest.id);
    const remaining = await runloop.snapshot.list({ devbox_id: source.id });
    log('   Snapshots left for the first devbox', String(remaining.length));

    for (const devbox of devboxes.splice(0)) await devbox.shutdown();
    const finalStatuses = await Promise.all(
      [source, restored].map(async (devbox) => (await devbox.getInfo()).status),
    );
    log('   Shut the devboxes down', finalStatuses.join(', '));

    return {
      sourceId: source.id,
      sourceStatus: sourceInfo.status,
      writeExitCode: write.exitCode,
      snapshotId: snapshot.id,
      snapshotStatus: snapshotStatus.status,
      restoredId: restored.id,
      restoredStatus: restoredInfo.status,
      contents,
      asyncSnapshotId: asyncSnapshot.id,
      asyncStatus: asyncStatus.status,
      listedIds: listed.map((s) => s.id),
      deletedIds: [...older, newest].map((s) => s.id),
      remainingCount: remaining.length,
      finalStatuses,
    };
  } finally {
    // Shuts down whatever an earlier failure left running.
    await Promise.allSettled(devboxes.map((devbox) => devbox.shutdown()));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runloop = new RunloopSDK();
  const result = await runSnapshotWorkflow(runloop, (step, detail) => {
    console.log(detail === undefined ? step : `${step}: ${detail}`);
  });
  console.log(`\nhello.txt in the devbox restored from the snapshot: ${result.contents}`);
}
