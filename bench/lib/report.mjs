// Renders the machine description, the result table and the targets as aligned text or as
// Markdown.

import { clientLabels } from './clients.mjs';

const clientColumns = ['ours', 'official', 'officialHttp1', 'floor'];

/** Formats a number with a precision that suits its size; `—` for a missing value. */
export function formatNumber(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  if (typeof value === 'string') return value;

  const magnitude = Math.abs(value);
  if (magnitude >= 1000 || Number.isInteger(value)) {
    return Math.round(value).toLocaleString('en-US');
  }
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatCell(cell) {
  if (!cell) return '—';
  if (cell.text !== undefined) return cell.text;
  if (cell.p90 === undefined) return formatNumber(cell.median);
  return `${formatNumber(cell.median)} / ${formatNumber(cell.p90)}`;
}

/** Returns `a.median / b.median`, or undefined when either is missing. */
export function ratio(a, b) {
  if (!a || !b || typeof a.median !== 'number' || typeof b.median !== 'number') return undefined;
  if (b.median === 0) return undefined;
  return a.median / b.median;
}

function formatRatio(value) {
  return value === undefined ? '—' : `${value.toFixed(2)}×`;
}

function tableRows(rows) {
  return rows.map((row) => {
    const direction = row.better === 'higher' ? ', higher is better' : '';
    const unit = row.unit ? ` (${row.unit}${direction})` : '';
    return [
      row.id,
      `${row.figure}${unit}`,
      ...clientColumns.map((name) => formatCell(row.cells[name])),
      formatRatio(ratio(row.cells.ours, row.cells.floor)),
      formatRatio(ratio(row.cells.ours, row.cells.official)),
      row.cells.floor ? row.floorLabel ?? '' : '',
    ];
  });
}

const header = [
  '#',
  'Figure',
  ...clientColumns.map((name) => clientLabels[name]),
  'runloop-wasm ÷ floor',
  'runloop-wasm ÷ official (h2c)',
  'floor measured as',
];

/** Renders the whole report as aligned plain text. */
export function renderText({ machine, mode, rows, targets, notes }) {
  const lines = [`runloop-wasm benchmarks, ${mode}`, ''];
  lines.push(...machineLines(machine), '');
  lines.push('Cells: median / p90 over the repetitions; single values are counts or sizes.', '');

  const body = tableRows(rows);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column].length)),
  );
  const pad = (cells) =>
    cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  lines.push(pad(header), widths.map((width) => '-'.repeat(width)).join('  '));
  for (const cells of body) lines.push(pad(cells));

  lines.push('', 'Targets:');
  for (const target of targets) {
    lines.push(`  [${verdict(target)}] ${target.name}: ${target.measured}`);
  }
  if (notes.length) lines.push('', 'Notes:', ...notes.map((note) => `  - ${note}`));
  return `${lines.join('\n')}\n`;
}

/** Renders the whole report as Markdown, ready to paste into BENCHMARKS.md. */
export function renderMarkdown({ machine, mode, rows, targets, notes }) {
  const escape = (text) => String(text).replaceAll('|', '\\|');
  const line = (cells) => `| ${cells.map(escape).join(' | ')} |`;

  const lines = [`${mode[0].toUpperCase()}${mode.slice(1)}.`, ''];
  lines.push(...machineLines(machine).map((text) => `- ${text}`), '');
  lines.push('Cells: median / p90 over the repetitions; single values are counts or sizes.', '');
  lines.push(line(header), line(header.map(() => '---')));
  for (const cells of tableRows(rows)) lines.push(line(cells));

  lines.push('', line(['Target', 'Measured', 'Verdict']), line(['---', '---', '---']));
  for (const target of targets) lines.push(line([target.name, target.measured, verdict(target)]));
  if (notes.length) lines.push('', ...notes.map((note) => `- ${note}`));
  return `${lines.join('\n')}\n`;
}

function verdict(target) {
  if (target.met === undefined) return 'not measured';
  return target.met ? 'met' : 'missed';
}

function machineLines(machine) {
  return [
    `CPU: ${machine.cpu}, ${machine.cores} cores`,
    `Memory: ${machine.memoryGiB.toFixed(1)} GiB`,
    `Kernel: ${machine.kernel}`,
    `Node: ${machine.node}`,
    `Load average at start (1, 5, 15 min): ${machine.loadAverage}`,
  ];
}
