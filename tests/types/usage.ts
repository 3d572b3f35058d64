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
  type DevboxSnapshotAsyncStatusView,
  type DevboxSnapshotView,
  type DevboxView,
  type ExecutionResult,
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
}
