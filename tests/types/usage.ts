// Compile-only checks of the package's TypeScript declarations (`tsc -p tests/types`): typical
// calls type-check with exact types, and misuse is rejected (each `@ts-expect-error` must
// fail to compile, or tsc reports the directive as unused).

import {
  APIConnectionError,
  APIError,
  NotFoundError,
  PollingTimeoutError,
  RunloopError,
  RunloopSDK,
  type Devbox,
  type DevboxAsyncExecutionDetailView,
  type DevboxListView,
  type DevboxLogsView,
  type DevboxSnapshotAsyncStatusView,
  type DevboxSnapshotListView,
  type DevboxSnapshotView,
  type DevboxView,
  type Execution,
  type ExecutionResult,
  type ExecutionUpdateChunk,
  type SendStdInResult,
  type Snapshot,
} from 'runloop-wasm';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
  ? true
  : false;
function expectType<T extends true>(): void {}

export async function workflow(): Promise<string> {
  const runloop = new RunloopSDK({ bearerToken: 't', baseURL: 'http://127.0.0.1:1', timeout: 5_000 });
  const fromEnv = new RunloopSDK();
  void fromEnv;

  const devbox: Devbox = await runloop.devbox.create({
    name: 'typed',
    launch_parameters: { resource_size_request: 'SMALL', keep_alive_time_seconds: 600 },
    environment_variables: { DEBUG: '1' },
  });
  const id: string = devbox.id;
  const info: DevboxView = await devbox.getInfo();
  expectType<Equal<typeof info.end_time_ms, number | null>>();
  expectType<Equal<typeof info.status, DevboxView['status']>>();
  await devbox.awaitRunning({ timeout: 60_000, signal: AbortSignal.timeout(120_000) });

  const result: ExecutionResult = await devbox.cmd.exec("echo 'Hello, World!' > hello.txt", {
    shell_name: 'main',
    last_n: 50,
  });
  expectType<Equal<typeof result.exitCode, number | null>>();
  const ok: boolean = result.success && !result.failed;
  const stdout: string = await result.stdout();
  const lastLine: string = await result.stderr(1);

  const snapshot: Snapshot = await devbox.snapshotDisk({ name: 'first', metadata: { step: '3' } }, { timeout: 1 });
  const restored: Devbox = await snapshot.createDevbox({ name: 'restored' });
  const text: string = await restored.file.read('hello.txt');
  const same: string = await restored.file.read({ file_path: 'hello.txt' });
  await restored.file.write({ file_path: 'notes.txt', contents: 'hi' });

  const pending = await devbox.snapshotDiskAsync({ name: 'second' });
  const completed: DevboxSnapshotAsyncStatusView = await pending.awaitCompleted({ timeout: 60_000 });
  const completedView: DevboxSnapshotView | undefined = completed.snapshot;
  void completedView;

  const listed: Snapshot[] = await runloop.snapshot.list({ devbox_id: id, limit: 10 });
  const newestFirst = [...listed].sort(
    (a, b) => (b.info?.create_time_ms ?? 0) - (a.info?.create_time_ms ?? 0),
  );
  expectType<Equal<Snapshot['info'], DevboxSnapshotView | undefined>>();
  for (const old of newestFirst.slice(1)) await old.delete();
  await runloop.snapshot.fromId('snp_1').update({ name: 'renamed' });
  await runloop.devbox.createFromSnapshot('snp_1', { name: 'again' });

  const shutdown: DevboxView = await devbox.shutdown();
  return `${ok} ${stdout} ${lastLine} ${text} ${same} ${shutdown.status}`;
}

export async function objects(runloop: RunloopSDK, devbox: Devbox): Promise<number> {
  const firstPage: Devbox[] = await runloop.devbox.list({ status: 'running', limit: 5 });
  for await (const item of runloop.devbox.list()) {
    const typed: Devbox = item;
    void typed;
  }
  const page = await runloop.snapshot.list({ limit: 2 }).fetchPage(null);
  const cursor: string | null = page.nextCursor;
  for await (const snapshot of runloop.snapshot.list({ metadata: { team: ['a', 'b'] } })) {
    const typed: Snapshot = snapshot;
    void typed;
  }
  await runloop.snapshot.list({ metadata: { team: 'a' } });

  const suspended: DevboxView = await devbox.awaitSuspended({ timeout: 1_000 });
  const resumed: DevboxView = await devbox.resume({ signal: new AbortController().signal });
  await devbox.suspend();
  await devbox.resumeAsync();
  const alive: unknown = await devbox.keepAlive();
  const logs: DevboxLogsView = await devbox.logs({ shell_name: 'main' });
  await devbox.shutdown({ force: true, timeout: 5_000 });

  const lines: string[] = [];
  const result: ExecutionResult = await devbox.cmd.exec('ls', {
    stdout: (line) => lines.push(line),
    output: (line: string) => void line,
  });
  const execution: Execution = await devbox.cmd.execAsync('cat', { attach_stdin: true });
  for await (const line of execution.stdout) lines.push(line);
  for await (const line of execution.stderr) lines.push(line);
  const sent: SendStdInResult = await execution.sendStdIn('input');
  await execution.sendStdIn({ signal: 'EOF' });
  const state: DevboxAsyncExecutionDetailView = await execution.getState();
  await execution.kill({ kill_process_group: true });
  const done: ExecutionResult = await execution.result({ timeout: 60_000 });

  const bytes: Uint8Array = await devbox.file.download({ path: 'a.bin' });
  const blob: Blob = await devbox.file.download({ path: 'a.bin' }, { as: 'blob' });
  await devbox.file.upload({ path: 'b.bin', file: bytes });
  await devbox.file.upload({ path: 'c.bin', file: blob });
  await devbox.file.write({ file_path: 'd.txt', contents: new Uint8Array([104, 105]) });

  const raw: DevboxView = await runloop.api.devboxes.retrieve(devbox.id);
  const rawList: DevboxListView = await runloop.api.devboxes.list({ limit: 1 });
  const snapshots: DevboxSnapshotListView = await runloop.api.devboxes.diskSnapshots.list({
    devbox_id: devbox.id,
  });
  const rawBytes: Uint8Array = await runloop.api.devboxes.downloadFile(devbox.id, { path: 'a' });
  for await (const chunk of runloop.api.devboxes.executions.streamStdoutUpdates('d', 'e')) {
    const typed: ExecutionUpdateChunk = chunk;
    void typed;
  }

  void [suspended, resumed, alive, logs, result, sent, state, done, raw, rawList, snapshots];
  return firstPage.length + (cursor?.length ?? 0) + rawBytes.length;
}

export function errors(error: unknown): string {
  if (error instanceof NotFoundError) {
    expectType<Equal<typeof error.status, 404>>();
    return error.requestId ?? '';
  }
  if (error instanceof APIConnectionError) {
    return String(error.cause);
  }
  if (error instanceof APIError) {
    const status: number | undefined = error.status;
    return `${status} ${JSON.stringify(error.body)} ${error.headers?.['x-request-id']}`;
  }
  if (error instanceof PollingTimeoutError) {
    const last = error.lastResult;
    return last === null ? 'nothing seen' : last.status;
  }
  if (error instanceof RunloopError) {
    return error.message;
  }
  return 'unknown';
}

export async function misuse(runloop: RunloopSDK, devbox: Devbox): Promise<void> {
  // @ts-expect-error: the status is a closed set of strings
  await runloop.devbox.create({ launch_parameters: { resource_size_request: 'HUGE' } });
  // @ts-expect-error: createFromSnapshot sets snapshot_id itself
  await runloop.devbox.createFromSnapshot('snp_1', { snapshot_id: 'snp_2' });
  // @ts-expect-error: write needs contents
  await devbox.file.write({ file_path: 'a.txt' });
  // @ts-expect-error: timeout is a number of milliseconds
  await devbox.getInfo({ timeout: '5s' });
  // @ts-expect-error: exec takes a command string first
  await devbox.cmd.exec({ command: 'ls' });
  // @ts-expect-error: stdout resolves to a string
  const lines: number = await (await devbox.cmd.exec('ls')).stdout();
  void lines;
  // @ts-expect-error: a callback takes a string line
  await devbox.cmd.exec('ls', { stdout: (line: number) => line });
  // @ts-expect-error: the devbox list resolves to devboxes
  const names: string[] = await runloop.devbox.list();
  void names;
  // @ts-expect-error: a download resolves to bytes unless { as: 'blob' }
  const text: string = await devbox.file.download({ path: 'a' });
  void text;
  // @ts-expect-error: a blob download does not resolve to bytes
  const notBytes: Uint8Array = await devbox.file.download({ path: 'a' }, { as: 'blob' });
  void notBytes;
  // @ts-expect-error: metadata filters are strings or arrays of strings
  await runloop.snapshot.list({ metadata: { team: 1 } });
  // @ts-expect-error: the wire field is file_path, not path
  await devbox.file.write({ path: 'a.txt', contents: 'x' });
  // @ts-expect-error: upload takes bytes, text or a Blob
  await devbox.file.upload({ path: 'a', file: 42 });
  // @ts-expect-error: force is a boolean
  await devbox.shutdown({ force: 'yes' });
  // @ts-expect-error: output lines are strings
  for await (const line of (await devbox.cmd.execAsync('ls')).stdout) void (line satisfies number);
  // @ts-expect-error: unknown field of a view
  void (await devbox.getInfo()).stauts;
}
