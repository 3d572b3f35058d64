//! TypeScript declarations of the helpers beyond the official SDK: progress events, fan-out,
//! fork, checkpoint, prune results and scoped cleanup. The generic methods are declared
//! here because wasm-bindgen cannot declare type parameters; interfaces named like a class
//! merge into that class's declaration. This is the one place their documentation lives.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const PROGRESS_TYPES: &str = r#"
/**
 * Step of a long operation, as reported to `onProgress`. Each operation documents which it
 * sends:
 * - `devbox.create`, `createFromSnapshot`, `snapshot.createDevbox`: `creating`, then
 *   `waiting` for each devbox status seen (`provisioning`, `initializing`, `running`).
 * - `devbox.snapshotDisk`: `starting`, then `waiting` for each capture status seen
 *   (`in_progress`, `complete`); `snapshot.awaitCompleted`: `waiting` only.
 * - `awaitRunning`, `awaitSuspended`, `resume`, `cmd.exec`: `waiting` for statuses seen.
 * - `fanOut` / `fork`: `snapshotting` (fork only), `creating`, `waiting`, `running`,
 *   `settled`, `shutdown`, `done`.
 * - `checkpoint`: `snapshotting`, `waiting`, `running`, `restoring`, `shutdown`, `done`.
 * - `runloop.snapshot.prune`: `listing`, `checking`, `deleting`, `done`.
 * - `file.upload`: `uploading` (`total` bytes when known), `done`; `file.download`:
 *   `downloading`, `done` (`done` and `total` bytes received).
 */
export type ProgressPhase =
  | 'creating'
  | 'starting'
  | 'waiting'
  | 'snapshotting'
  | 'running'
  | 'settled'
  | 'shutdown'
  | 'restoring'
  | 'listing'
  | 'checking'
  | 'deleting'
  | 'uploading'
  | 'downloading'
  | 'done';

/**
 * One progress report. The callback runs synchronously inside the operation; if it throws,
 * the operation goes on and the first exception is reported with `console.warn`.
 *
 * ```ts
 * await runloop.devbox.create({}, { onProgress: (e) => console.log(e.phase, e.status, e.elapsedMs) });
 * ```
 */
export interface ProgressEvent {
  /** The step, documented per operation on `ProgressPhase`. */
  phase: ProgressPhase;
  /** Status seen in this step: a devbox or capture status, or `fulfilled`/`rejected` for `settled`. */
  status?: string;
  /** Milliseconds since the operation started. */
  elapsedMs: number;
  /** Items finished so far in this phase: tasks, snapshots or bytes. */
  done?: number;
  /** Items in this phase in all, when known. */
  total?: number;
  /** Fan-out task the event belongs to. */
  index?: number;
  /** Devbox or snapshot the event concerns. */
  id?: string;
}

export interface WaitOptions {
  /** Called with each progress event; see `ProgressPhase` for what each operation sends. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Settings of `file.upload` and `file.download`. */
export interface TransferOptions extends RequestOptions {
  /**
   * Called when the transfer starts and when it ends. `fetch` reports no progress in
   * between, so there are no events per chunk.
   */
  onProgress?: (event: ProgressEvent) => void;
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const FAN_OUT_TYPES: &str = r#"
/** Second or third argument of a fan-out, fork or checkpoint task. */
export interface TaskContext {
  /**
   * Fires when the helper stops waiting for this task: on abort or when the timeout runs
   * out. The task's devbox is shut down (or rolled back) right after, so stop using it.
   */
  signal: AbortSignal;
}

/** Fields every fan-out result has. */
export interface FanOutResultBase {
  /** The task's index, from 0. */
  index: number;
  /** The devbox created for the task; `null` when none was created. */
  devboxId: string | null;
  /** The devbox, when it was kept running (see `keepDevboxes`); otherwise `null`. */
  devbox: Devbox | null;
}

/** A task that resolved. */
export interface FanOutFulfilled<T> extends FanOutResultBase {
  status: 'fulfilled';
  /** The value the task resolved with. */
  value: T;
}

/**
 * A task that produced no value: it threw, its devbox failed to start, or the timeout ran
 * out (`PollingTimeoutError`).
 */
export interface FanOutRejected extends FanOutResultBase {
  status: 'rejected';
  /** The value the task threw, or the SDK's error. */
  error: unknown;
}

/** Outcome of one fan-out task, like a `Promise.allSettled` entry with the devbox added. */
export type FanOutResult<T> = FanOutFulfilled<T> | FanOutRejected;

/** Settings of `snapshot.fanOut`. */
export interface FanOutOptions<T> {
  /**
   * Tasks in progress at most at once, each from the creation of its devbox until that
   * devbox is shut down (or, when devboxes may be kept, until the task settles).
   * Default: all of them.
   */
  concurrency?: number;
  /**
   * Time allowed for the whole fan-out, in milliseconds. Tasks still running then settle as
   * rejected with `PollingTimeoutError` (their `signal` fires), and tasks not started yet
   * are not started. Default: no limit.
   */
  timeout?: number;
  /**
   * Aborts the fan-out: no new task starts, every task's `signal` fires, every devbox is
   * shut down, and the promise rejects with `APIUserAbortError`.
   */
  signal?: AbortSignal;
  /**
   * Choice of the devboxes that stay running. `false` (the default) shuts each down as soon
   * as its task settles, and `true` keeps every devbox the task ran on. A function is called
   * once all tasks have settled, with each result (its `devbox` set while it still runs) and
   * all results, and keeps the devboxes for which it returns `true`. A devbox that failed to
   * start is always shut down. If the function throws, every devbox is shut down and the
   * fan-out rejects with the thrown value.
   */
  keepDevboxes?: boolean | ((result: FanOutResult<T>, results: FanOutResult<T>[]) => boolean);
  /** Parameters of every devbox created (name, metadata, environment variables, ...). */
  params?: Omit<DevboxCreateParams, 'snapshot_id' | 'blueprint_id' | 'blueprint_name'>;
  /** Called with each progress event: `creating`, `waiting`, `running`, `settled`, `shutdown`, `done`. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Settings of `devbox.fork`. */
export interface ForkOptions<T> extends FanOutOptions<T> {
  /**
   * Keeps the snapshot fork takes; by default it is deleted afterwards. Find it with
   * `runloop.snapshot.list({ devbox_id })`.
   */
  keepSnapshot?: boolean;
}

/** A fan-out or fork task: called once per devbox with its index and a `TaskContext`. */
export type FanOutTask<T> = (devbox: Devbox, index: number, context: TaskContext) => T | PromiseLike<T>;

export interface Snapshot {
  /**
   * Creates `count` devboxes from this snapshot (at most `concurrency` at a time), runs
   * `fn` on each and resolves with one result per index, in index order, like
   * `Promise.allSettled`. Every devbox is shut down when its task ends, fails, times out or
   * the fan-out is aborted, unless `keepDevboxes` keeps it. Kept ones are in the results as
   * `devbox`.
   *
   * Rejects only when the fan-out as a whole fails: invalid arguments, an abort
   * (`APIUserAbortError`, after every devbox is shut down), a `keepDevboxes` function that
   * throws, or a devbox that could not be shut down (`RunloopError` naming the ids).
   *
   * ```ts
   * const results = await snapshot.fanOut(3, async (devbox, i) => {
   *   const run = await devbox.cmd.exec(`./bench.sh --variant ${i}`);
   *   return Number(await run.stdout());
   * }, { concurrency: 2, keepDevboxes: (r, all) => r.status === 'fulfilled' && r.value === Math.max(...all.flatMap((x) => x.status === 'fulfilled' ? [x.value] : [])) });
   * const best = results.find((r) => r.devbox !== null);
   * ```
   */
  fanOut<T>(count: number, fn: FanOutTask<T>, options?: FanOutOptions<Awaited<T>>): Promise<FanOutResult<Awaited<T>>[]>;

  /**
   * Returns an `AsyncDisposable` that deletes this snapshot when disposed (a deleted
   * snapshot counts as done; a capture in progress is awaited first).
   *
   * ```ts
   * await using scratch = (await devbox.snapshotDisk()).disposable();
   * const copy = await scratch.snapshot.createDevbox();
   * ```
   */
  disposable(): SnapshotDisposable;
}

/** Return value of `snapshot.disposable()`. */
export interface SnapshotDisposable extends AsyncDisposable {
  /**
   * The snapshot it deletes.
   *
   * ```ts
   * await using scratch = snapshot.disposable();
   * const devbox = await scratch.snapshot.createDevbox();
   * ```
   */
  readonly snapshot: Snapshot;
}

/** Settings of `devbox.checkpoint`. */
export interface CheckpointOptions {
  /** Keeps the checkpoint snapshot; by default it is deleted once `fn` succeeded or the devbox was restored. */
  keepCheckpoint?: boolean;
  /**
   * Time allowed for `fn`, in milliseconds. When it runs out, `fn`'s `signal` fires and the
   * devbox is rolled back as if `fn` had failed with `PollingTimeoutError`. The snapshot and
   * the restore are not bounded by it.
   */
  timeout?: number;
  /**
   * Aborts the snapshot or `fn`: nothing is rolled back, the devbox stays as it is, the
   * checkpoint is deleted unless kept, and the promise rejects with `APIUserAbortError`.
   */
  signal?: AbortSignal;
  /** Called with each progress event: `snapshotting`, `waiting`, `running`, `restoring`, `shutdown`, `done`. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Fields every checkpoint result has. */
export interface CheckpointResultBase {
  /**
   * The devbox to go on with: this devbox after a success, the devbox restored from the
   * checkpoint after a failure.
   */
  devbox: Devbox;
  /** The checkpoint snapshot when `keepCheckpoint` kept it; otherwise `null` (deleted). */
  checkpoint: Snapshot | null;
}

/** `fn` resolved; the devbox keeps its changes. */
export interface CheckpointFulfilled<T> extends CheckpointResultBase {
  status: 'fulfilled';
  value: T;
  restored: false;
  failedDevboxId: null;
}

/**
 * `fn` threw or timed out. `devbox` is a new devbox with the disk as it was at the
 * checkpoint, and the devbox `fn` ran on is shut down.
 */
export interface CheckpointRejected extends CheckpointResultBase {
  status: 'rejected';
  /** The value `fn` threw, or `PollingTimeoutError` when its timeout ran out. */
  error: unknown;
  restored: true;
  /** The devbox `fn` failed on, now shut down. */
  failedDevboxId: string;
}

/** Result of `devbox.checkpoint`. */
export type CheckpointResult<T> = CheckpointFulfilled<T> | CheckpointRejected;

export interface Devbox {
  /**
   * Snapshots this devbox, then fans out from the snapshot like `snapshot.fanOut`, and
   * deletes the snapshot afterwards unless `keepSnapshot` is set. `timeout` covers the
   * snapshot too.
   *
   * ```ts
   * const results = await devbox.fork(4, (copy, i) => copy.cmd.exec(`make test SHARD=${i}`).then((r) => r.exitCode));
   * ```
   */
  fork<T>(count: number, fn: FanOutTask<T>, options?: ForkOptions<Awaited<T>>): Promise<FanOutResult<Awaited<T>>[]>;

  /**
   * Snapshots this devbox (the checkpoint), runs `fn` on it, and when `fn` throws or times
   * out, creates a devbox from the checkpoint (with this devbox's name and metadata) and
   * shuts this one down. Resolves with `CheckpointResult`: the value or the error, and the
   * devbox to go on with.
   *
   * Rejects when the snapshot fails, on abort, and when the rollback itself fails (then
   * both the checkpoint and this devbox are left as they are, and the `RunloopError` names
   * them).
   *
   * ```ts
   * const result = await devbox.checkpoint(async (box) => {
   *   const run = await box.cmd.exec('apt-get upgrade -y');
   *   if (run.exitCode !== 0) throw new Error('upgrade failed');
   * });
   * devbox = result.devbox; // restored when the upgrade failed
   * ```
   */
  checkpoint<T>(fn: (devbox: Devbox, context: TaskContext) => T | PromiseLike<T>, options?: CheckpointOptions): Promise<CheckpointResult<Awaited<T>>>;

  /**
   * Shuts the devbox down when an `await using` scope ends. A devbox that is already shut
   * down, failed or gone counts as done.
   *
   * ```ts
   * await using devbox = await runloop.devbox.create();
   * ```
   */
  [Symbol.asyncDispose](): Promise<void>;
}

export interface DevboxOps {
  /**
   * Creates a devbox, runs `fn` on it, shuts it down when `fn` settles, and resolves with
   * `fn`'s value or rejects with what it threw: `await using` for runtimes without it.
   *
   * ```ts
   * const kernel = await runloop.devbox.with({ name: 'probe' }, async (devbox) => {
   *   return (await devbox.cmd.exec('uname -r')).stdout();
   * });
   * ```
   */
  with<T>(params: DevboxCreateParams | undefined, fn: (devbox: Devbox) => T | PromiseLike<T>, options?: WaitOptions): Promise<Awaited<T>>;
}

/** Parameters of `runloop.snapshot.prune`. */
export interface PruneParams {
  /** Only snapshots taken from this devbox. */
  devbox_id?: string;
  /** Only snapshots of devboxes booted from this blueprint. */
  source_blueprint_id?: string;
  /** Metadata filters: `{ team: 'a' }` matches one value, `{ team: ['a', 'b'] }` any of several. */
  metadata?: Record<string, string | string[]>;
  /** Page size of the listing. Default: 100. */
  limit?: number;
  /** Number of the newest complete snapshots kept whatever their age. Captures in progress and failed ones do not count. */
  keep?: number;
  /** Deletes only snapshots older than this many milliseconds, or created before this `Date`. */
  olderThan?: number | Date;
  /** Lists and checks, deletes nothing, and reports what it would delete. */
  dryRun?: boolean;
  /** Called with each progress event: `listing`, `checking`, `deleting`, `done`. */
  onProgress?: (event: ProgressEvent) => void;
}

/** What `runloop.snapshot.prune` did, or with `dryRun` would do. */
export interface PruneResult {
  /** Whether this was a dry run. */
  dryRun: boolean;
  /** Snapshots deleted (in a dry run: that would be deleted), newest first. */
  deleted: DevboxSnapshotView[];
  /** Matching snapshots left in place: the newest `keep` complete ones and those too young. */
  kept: DevboxSnapshotView[];
  /** Matching snapshots still being captured (never deleted) or already gone when checked. */
  skipped: { snapshot: DevboxSnapshotView; status: 'in_progress' | 'deleted' }[];
  /** Snapshots whose status check or deletion failed, with the error. */
  failed: { snapshot: DevboxSnapshotView; error: Error }[];
}
"#;
