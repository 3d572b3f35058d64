// Figure 6: runloop-local's snapshot layers. It times a snapshot of a small change on a plain
// base, of the same change over an inherited large layer, and of a devbox whose own change is
// that large. It also times createDevbox at several snapshot chain depths and a fan-out of
// devboxes from one snapshot. The SDK figures include each SDK's wait for completion, because
// both SDKs start snapshot_disk_async and poll the status. The floor sends the synchronous
// snapshot_disk instead.

import { spawnSync } from 'node:child_process';

import { interleave, rotate, summarize, timed } from '../lib/stats.mjs';

const clientNames = ['ours', 'official', 'floor'];
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Sizes, chain depths and repetitions of a smoke or a full run. */
function plan(smoke) {
  const shared = { fanOut: 10, changeBytes: MiB };
  if (smoke) {
    return {
      ...shared,
      baseBytes: 16 * MiB,
      baseLabel: '16 MiB',
      largeReps: 1,
      snapshotReps: 2,
      depths: [1, 3],
      createReps: 2,
      fanOutReps: 1,
    };
  }
  return {
    ...shared,
    baseBytes: GiB,
    baseLabel: '1 GiB',
    largeReps: 3,
    snapshotReps: 10,
    depths: [1, 10, 50],
    createReps: 10,
    fanOutReps: 3,
  };
}

/** Measures snapshot, restore and fan-out times; returns table rows. */
export async function runSnapshots({ api, clients, smoke, log }) {
  const lab = new Lab(api, clients, plan(smoke), log);

  try {
    const large = await measureLargeChange(lab);
    const small = await measureSmallChanges(lab, large.baseSnapshot);
    const restores = await measureRestores(lab, small.topSnapshot);
    const fanOutRow = await measureFanOut(lab, restores.chain[1]);
    return [...small.rows, ...large.rows, ...restores.rows, fanOutRow];
  } finally {
    await lab.shutdownAll();
  }
}

/** State shared by the phases: the clients, the plan, and the devboxes still running. */
class Lab {
  constructor(api, clients, settings, log) {
    this.api = api;
    this.clients = clients;
    this.settings = settings;
    this.log = log;
    this.live = new Set();
  }

  /** Creates a devbox with raw HTTP and returns its id once it runs. */
  async create(params) {
    const view = await this.api.createDevbox(params);
    this.live.add(view.id);
    return view.id;
  }

  /** Records a devbox that a client created, so that clean-up finds it after a failure. */
  track(id) {
    this.live.add(id);
  }

  /** Shuts a devbox down with raw HTTP. */
  async shutdown(id) {
    await this.api.shutdown(id);
    this.live.delete(id);
  }

  /** Shuts down every devbox still running, ignoring failures. */
  async shutdownAll() {
    await Promise.allSettled([...this.live].map((id) => this.shutdown(id)));
  }
}

/**
 * Writes the large file into a plain devbox and times snapshots of it with raw HTTP. The first
 * snapshot is kept as the base layer of the later phases.
 */
async function measureLargeChange(lab) {
  const { api, settings } = lab;

  lab.log(`snapshots: writing ${settings.baseLabel} from /dev/urandom into a new devbox`);
  const source = await lab.create({ name: 'bench-large-source' });
  await api.run(source, `head -c ${settings.baseBytes} /dev/urandom > base.bin`);

  lab.log(`snapshots: own change of ${settings.baseLabel}, ${settings.largeReps} captures`);
  const samples = [];
  let baseSnapshot;
  for (let rep = 0; rep < settings.largeReps; rep++) {
    flushDirtyPages();
    const { ms, result } = await timed(() => api.snapshot(source, `bench-large-${rep}`));
    samples.push(ms);
    if (baseSnapshot === undefined) baseSnapshot = result.id;
    else await api.deleteSnapshot(result.id);
  }
  await lab.shutdown(source);
  flushDirtyPages();

  const row = {
    id: '6',
    key: 'snapshot-own-large',
    figure: `snapshot of a devbox whose own change is ${settings.baseLabel}`,
    unit: 'ms',
    better: 'lower',
    floorLabel: 'raw fetch: POST snapshot_disk',
    cells: { floor: summarize(samples) },
  };
  return { baseSnapshot, rows: [row] };
}

/**
 * Times snapshots of a 1 MiB change on a plain devbox and on one booted from the large base
 * layer. Returns the rows and a snapshot of one more 1 MiB layer over the base.
 */
async function measureSmallChanges(lab, baseSnapshot) {
  const { baseLabel } = lab.settings;
  lab.log(`snapshots: 1 MiB change on a plain base and over the ${baseLabel} layer`);

  const plain = await lab.create({ name: 'bench-plain-base' });
  const plainSamples = await smallChangeSnapshots(lab, plain);
  await lab.shutdown(plain);

  const inheriting = await lab.create({ name: 'bench-inherited', snapshot_id: baseSnapshot });
  const inheritedSamples = await smallChangeSnapshots(lab, inheriting);
  const topSnapshot = (await lab.api.snapshot(inheriting, 'bench-inherited-top')).id;
  await lab.shutdown(inheriting);

  const rows = [
    snapshotRow('snapshot-plain', 'snapshot of a 1 MiB change, plain base', plainSamples),
    snapshotRow(
      'snapshot-inherited',
      `snapshot of a 1 MiB change on an inherited ${baseLabel} layer`,
      inheritedSamples,
    ),
  ];
  return { topSnapshot, rows };
}

/**
 * Builds a snapshot chain and times createDevbox at the planned depths and from
 * `topSnapshot`, whose chain contains the large layer. Returns the rows and the chain.
 */
async function measureRestores(lab, topSnapshot) {
  const { depths, baseLabel, createReps } = lab.settings;
  const maxDepth = Math.max(...depths);

  lab.log(`snapshots: building a chain of depth ${maxDepth}`);
  const chain = await buildChain(lab, maxDepth);
  for (const depth of depths) await checkChainFiles(lab, chain[depth], depth);

  const restores = depths.map((depth) => ({
    key: `restore-depth-${depth}`,
    figure: `createDevbox from a snapshot, chain depth ${depth}`,
    snapshotId: chain[depth],
  }));
  restores.push({
    key: 'restore-large-base',
    figure: `createDevbox from a 1 MiB layer over the ${baseLabel} layer (depth 2)`,
    snapshotId: topSnapshot,
  });

  lab.log(
    `snapshots: createDevbox at chain depths ${depths.join(', ')} and over the ${baseLabel} `
      + `layer, ${createReps} rounds`,
  );
  const samples = await restoreAll(lab, restores);
  const rows = restores.map((restore) => restoreRow(restore, samples.get(restore.key)));
  return { chain, rows };
}

/** Times the creation of several devboxes at once from one snapshot, per client. */
async function measureFanOut(lab, snapshotId) {
  const { fanOut, fanOutReps } = lab.settings;
  lab.log(`snapshots: fan-out of ${fanOut} devboxes, ${fanOutReps} rounds`);

  const operations = Object.fromEntries(
    clientNames.map((name) => [name, () => fanOutOnce(lab, lab.clients[name], snapshotId)]),
  );
  const samples = await interleave(operations, { reps: fanOutReps });

  return {
    id: '6',
    key: 'fan-out',
    figure: `fan-out: ${fanOut} devboxes from one snapshot, all running (wall time)`,
    unit: 'ms',
    better: 'lower',
    floorLabel: `${fanOut} concurrent raw create_and_await_running`,
    cells: cellsOf(samples),
  };
}

/**
 * Times one capture per client per round, after rewriting a 1 MiB file in the devbox. Each
 * snapshot is deleted after it is timed, so every capture runs on the same layer chain.
 */
async function smallChangeSnapshots(lab, devboxId) {
  const samples = Object.fromEntries(clientNames.map((name) => [name, []]));
  const rewrite = `head -c ${lab.settings.changeBytes} /dev/urandom > change.bin`;

  for (let round = 0; round < lab.settings.snapshotReps; round++) {
    for (const name of rotate(clientNames, round)) {
      await lab.api.run(devboxId, rewrite);
      const { ms, result: snapshotId } = await timed(() =>
        lab.clients[name].snapshotDisk(devboxId, `bench-small-${round}-${name}`),
      );
      samples[name].push(ms);
      await lab.api.deleteSnapshot(snapshotId);
    }
  }
  return samples;
}

/**
 * Builds a snapshot chain: each snapshot is taken from a devbox booted from the previous one
 * after writing `layer-N.txt`. Returns the snapshot ids indexed by depth (1-based).
 */
async function buildChain(lab, maxDepth) {
  const chain = [undefined];
  for (let depth = 1; depth <= maxDepth; depth++) {
    const params = depth === 1 ? { name: 'bench-chain-1' } : { snapshot_id: chain[depth - 1] };
    const devboxId = await lab.create(params);
    await lab.api.writeFile(devboxId, `layer-${depth}.txt`, `written at depth ${depth}\n`);
    chain.push((await lab.api.snapshot(devboxId, `bench-chain-${depth}`)).id);
    await lab.shutdown(devboxId);
  }
  return chain;
}

/** Checks that a devbox booted at `depth` reads the files of the first and the last layer. */
async function checkChainFiles(lab, snapshotId, depth) {
  const devboxId = await lab.create({ snapshot_id: snapshotId });
  for (const layer of new Set([1, depth])) {
    const text = await lab.api.readFile(devboxId, `layer-${layer}.txt`);
    if (text !== `written at depth ${layer}\n`) {
      throw new Error(`layer-${layer}.txt at chain depth ${depth} reads ${JSON.stringify(text)}`);
    }
  }
  await lab.shutdown(devboxId);
}

/**
 * Times createDevbox from each restore's snapshot per client, interleaving snapshots and
 * clients round-robin, and shuts each devbox down untimed. Returns samples by restore key.
 */
async function restoreAll(lab, restores) {
  const samples = new Map(
    restores.map((restore) => [
      restore.key,
      Object.fromEntries(clientNames.map((name) => [name, []])),
    ]),
  );

  for (let round = 0; round < lab.settings.createReps; round++) {
    for (const restore of rotate(restores, round)) {
      for (const name of rotate(clientNames, round)) {
        const { ms, result: devboxId } = await timed(() =>
          lab.clients[name].createFromSnapshot(restore.snapshotId),
        );
        lab.track(devboxId);
        samples.get(restore.key)[name].push(ms);
        await lab.shutdown(devboxId);
      }
    }
  }
  return samples;
}

/** Creates `fanOut` devboxes from one snapshot at once, checks they run, and shuts them down. */
async function fanOutOnce(lab, client, snapshotId) {
  const ids = await Promise.all(
    Array.from({ length: lab.settings.fanOut }, () => client.createFromSnapshot(snapshotId)),
  );
  for (const id of ids) lab.track(id);

  const views = await Promise.all(ids.map((id) => lab.api.getDevbox(id)));
  await Promise.all(ids.map((id) => lab.shutdown(id)));

  const notRunning = views.filter((view) => view.status !== 'running');
  if (notRunning.length > 0) {
    const states = notRunning.map((view) => `${view.id} is ${view.status}`);
    throw new Error(`fan-out: devboxes not running after create: ${states.join(', ')}`);
  }
}

/**
 * Writes the page cache's dirty pages to disk (sync(1)), so that the write-back of the large
 * files does not slow the captures and restores measured after it.
 */
function flushDirtyPages() {
  const result = spawnSync('sync', { stdio: 'ignore' });
  if (result.status !== 0) {
    throw new Error(`sync failed: ${result.error?.message ?? `exit status ${result.status}`}`);
  }
}

function cellsOf(samples) {
  return Object.fromEntries(clientNames.map((name) => [name, summarize(samples[name])]));
}

function snapshotRow(key, figure, samples) {
  return {
    id: '6',
    key,
    figure,
    unit: 'ms',
    better: 'lower',
    floorLabel: 'raw fetch: POST snapshot_disk',
    cells: cellsOf(samples),
  };
}

function restoreRow({ key, figure }, samples) {
  return {
    id: '6',
    key,
    figure,
    unit: 'ms',
    better: 'lower',
    floorLabel: 'raw fetch: POST create_and_await_running',
    cells: cellsOf(samples),
  };
}
