// Compile-only checks of the helpers' declarations (`tsc -p tests/types`): the fan-out,
// fork, checkpoint and `with` results carry the task's return type, progress events and
// prune results have exact types, and misuse is rejected.

import {
  RunloopSDK,
  type CheckpointResult,
  type Devbox,
  type FanOutResult,
  type ProgressEvent,
  type PruneResult,
  type Snapshot,
} from 'runloop-wasm';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
  ? true
  : false;
function expectType<T extends true>(): void {}

export async function helpers(runloop: RunloopSDK, snapshot: Snapshot, devbox: Devbox) {
  const events: ProgressEvent[] = [];
  const results = await snapshot.fanOut(
    3,
    async (box, index, { signal }) => {
      const run = await box.cmd.exec(`echo ${index}`, {}, { signal });
      return { index, exitCode: run.exitCode };
    },
    {
      concurrency: 2,
      timeout: 60_000,
      signal: new AbortController().signal,
      keepDevboxes: (result, all) => result.status === 'fulfilled' && all.length > 0,
      params: { name: 'fan-out' },
      onProgress: (event) => events.push(event),
    },
  );
  expectType<Equal<typeof results, FanOutResult<{ index: number; exitCode: number | null }>[]>>();
  for (const result of results) {
    const id: string | null = result.devboxId;
    const kept: Devbox | null = result.devbox;
    if (result.status === 'fulfilled') {
      const value: { index: number } = result.value;
      void value;
    } else {
      const error: unknown = result.error;
      void error;
    }
    void id;
    void kept;
  }

  const sync = await snapshot.fanOut(2, (_box, index) => index * 2);
  expectType<Equal<typeof sync, FanOutResult<number>[]>>();

  const forked = await devbox.fork(2, async () => 'done', { keepSnapshot: true, keepDevboxes: true });
  expectType<Equal<typeof forked, FanOutResult<string>[]>>();

  const checkpoint = await devbox.checkpoint(async (box, { signal }) => {
    void signal;
    return box.id.length;
  }, { keepCheckpoint: true, timeout: 1_000 });
  expectType<Equal<typeof checkpoint, CheckpointResult<number>>>();
  const next: Devbox = checkpoint.devbox;
  if (checkpoint.restored) {
    const failedId: string = checkpoint.failedDevboxId;
    void failedId;
  } else {
    const value: number = checkpoint.value;
    void value;
  }
  const kept: Snapshot | null = checkpoint.checkpoint;
  void next;
  void kept;

  const pruned = await runloop.snapshot.prune({
    devbox_id: devbox.id,
    metadata: { team: ['a', 'b'] },
    keep: 3,
    olderThan: new Date(),
    dryRun: true,
    onProgress: (event) => events.push(event),
  });
  expectType<Equal<typeof pruned, PruneResult>>();
  const skippedStatus: 'in_progress' | 'deleted' | undefined = pruned.skipped[0]?.status;
  void skippedStatus;
  await runloop.snapshot.prune({ keep: 1, olderThan: 86_400_000 });

  const scoped = await runloop.devbox.with({ name: 'scoped' }, async (box) => box.id);
  expectType<Equal<typeof scoped, string>>();

  await runloop.devbox.create({}, { onProgress: (event) => events.push(event) });
  await devbox.file.upload({ path: 'a.bin', file: 'text' }, { onProgress: (event) => events.push(event) });
  const blob: Blob = await devbox.file.download({ path: 'a.bin' }, { as: 'blob', onProgress: () => {} });
  void blob;
  const phase: ProgressEvent['phase'] = 'settled';
  void phase;

  await devbox[Symbol.asyncDispose]();
  const disposable: AsyncDisposable = snapshot.disposable();
  const same: Snapshot = snapshot.disposable().snapshot;
  void disposable;
  void same;

  // @ts-expect-error the task must be a function
  await snapshot.fanOut(2, 'echo hi');
  // @ts-expect-error keepDevboxes takes a boolean or a predicate
  await snapshot.fanOut(2, () => 1, { keepDevboxes: 'all' });
  // @ts-expect-error snapshot_id is set by the fan-out
  await snapshot.fanOut(2, () => 1, { params: { snapshot_id: 'snp_1' } });
  // @ts-expect-error olderThan is milliseconds or a Date
  await runloop.snapshot.prune({ olderThan: '7d' });
  // @ts-expect-error phases are a closed set
  const unknownPhase: ProgressEvent['phase'] = 'booting';
  void unknownPhase;
}
