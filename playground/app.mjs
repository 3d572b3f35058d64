// The playground's logic: one SDK client built from the connection form, and a handler per
// button. Every action disables its button while it runs and reports failures in the page.

import { RunloopSDK } from 'runloop-wasm';

const $ = (id) => document.getElementById(id);

const hashParams = new URLSearchParams(location.hash.slice(1));
$('base-url').value = hashParams.get('baseURL') ?? location.origin;
$('token').value = hashParams.get('token') ?? '';

/** Devboxes this page started and has not shut down yet. */
const liveDevboxes = new Set();
let devbox = null;
let snapshot = null;

function client() {
  return new RunloopSDK({ baseURL: $('base-url').value.trim(), bearerToken: $('token').value });
}

function describeError(error) {
  const status = typeof error?.status === 'number' ? ` (HTTP ${error.status})` : '';
  return `${error?.name ?? 'Error'}${status}: ${error?.message ?? String(error)}`;
}

function showError(error) {
  const box = $('error');
  box.textContent = describeError(error);
  box.hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

/** Buttons whose action is running. */
const busy = new Set();

/** Runs `action` with `button` disabled, showing any failure in the page. */
async function run(button, action) {
  busy.add(button);
  refreshButtons();
  clearError();
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    busy.delete(button);
    refreshButtons();
  }
}

/** Enables each button unless its action runs or what it needs (devbox, snapshot) is missing. */
function refreshButtons() {
  const needs = {
    'run-command': devbox,
    'write-file': devbox,
    'read-file': devbox,
    'take-snapshot': devbox,
    'run-fanout': snapshot,
  };
  for (const button of document.querySelectorAll('button')) {
    const ready = button.id in needs ? needs[button.id] !== null : true;
    button.disabled = busy.has(button) || !ready;
  }
}

function elapsedSince(start) {
  return `${((performance.now() - start) / 1000).toFixed(2)} s`;
}

$('create-devbox').addEventListener('click', (event) => run(event.currentTarget, async () => {
  const start = performance.now();
  $('devbox-state').textContent = 'creating…';
  devbox = await client().devbox.create({ name: 'playground' });
  liveDevboxes.add(devbox);
  const info = await devbox.getInfo();
  $('devbox-state').textContent = `${devbox.id} · ${info.status} · ${elapsedSince(start)}`;
  $('connection-state').textContent = 'connected';
}));

$('exec-form').addEventListener('submit', (event) => {
  event.preventDefault();
  run($('run-command'), async () => {
    const output = $('command-output');
    output.textContent = '';
    $('command-exit').textContent = 'running…';
    let streamed = 0;
    const append = (line) => {
      streamed += 1;
      output.textContent += line.endsWith('\n') ? line : `${line}\n`;
      output.scrollTop = output.scrollHeight;
    };

    const result = await devbox.cmd.exec($('command').value, { stdout: append, stderr: append });
    if (streamed === 0) output.textContent = (await result.stdout()) + (await result.stderr());
    $('command-exit').textContent = `exit code ${result.exitCode}`;
  });
});

$('write-file').addEventListener('click', (event) => run(event.currentTarget, async () => {
  await devbox.file.write({ file_path: $('file-path').value, contents: $('file-contents').value });
  $('file-read').textContent = `wrote ${$('file-path').value}`;
}));

$('read-file').addEventListener('click', (event) => run(event.currentTarget, async () => {
  $('file-read').textContent = await devbox.file.read({ file_path: $('file-path').value });
}));

$('take-snapshot').addEventListener('click', (event) => run(event.currentTarget, async () => {
  const start = performance.now();
  const pending = await devbox.snapshotDiskAsync({ name: `playground-${Date.now()}` });
  const show = (status) => {
    $('snapshot-state').textContent = `${pending.id} · ${status} · ${elapsedSince(start)}`;
  };
  show('in_progress');

  // awaitCompleted reports each status it polls, so the page shows in_progress as it lasts.
  const final = await pending.awaitCompleted({
    onProgress: (progress) => show(progress.status ?? progress.phase),
  });
  show(final.status);
  snapshot = pending;
  await refreshSnapshots();
}));

$('fanout-form').addEventListener('submit', (event) => {
  event.preventDefault();
  run($('run-fanout'), async () => {
    const count = Math.max(1, Math.min(8, Number($('fanout-count').value) || 1));
    const command = $('fanout-command').value;
    const columns = $('fanout-columns');
    columns.replaceChildren();

    const cells = Array.from({ length: count }, (_, index) => {
      const column = document.createElement('div');
      const title = document.createElement('h4');
      const output = document.createElement('pre');
      title.textContent = `#${index + 1} starting…`;
      output.className = 'output';
      column.append(title, output);
      columns.append(column);
      return { title, output };
    });

    await Promise.all(cells.map(async ({ title, output }) => {
      const child = await snapshot.createDevbox({ name: 'playground-fanout' }, {
        onProgress: (progress) => {
          title.textContent = `${progress.status ?? progress.phase}…`;
        },
      });
      liveDevboxes.add(child);
      title.textContent = `${child.id} · running`;
      const result = await child.cmd.exec(command);
      output.textContent = (await result.stdout()) + (await result.stderr());
      title.textContent = `${child.id} · exit ${result.exitCode}`;
    }));
  });
});

async function refreshSnapshots() {
  const body = $('snapshot-table').querySelector('tbody');
  const snapshots = await client().snapshot.list({});
  body.replaceChildren(...snapshots.map((item) => {
    const row = document.createElement('tr');
    const size = item.info.size_bytes ?? 0;
    for (const text of [item.id, item.info.name ?? '', item.info.source_devbox_id, `${size} B`]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.addEventListener('click', () => run(remove, async () => {
      await item.delete();
      if (snapshot?.id === item.id) snapshot = null;
      await refreshSnapshots();
    }));
    const cell = document.createElement('td');
    cell.append(remove);
    row.append(cell);
    return row;
  }));
}

$('list-snapshots').addEventListener('click', (event) => {
  run(event.currentTarget, refreshSnapshots);
});

$('shutdown-all').addEventListener('click', (event) => run(event.currentTarget, async () => {
  const results = await Promise.allSettled([...liveDevboxes].map((item) => item.shutdown()));
  liveDevboxes.clear();
  devbox = null;
  $('devbox-state').textContent = 'none';
  const failed = results.filter((result) => result.status === 'rejected');
  if (failed.length > 0) throw failed[0].reason;
}));

// Buttons start disabled in the HTML, so nothing is clickable before the wasm build loads.
refreshButtons();
document.body.dataset.ready = 'true';
