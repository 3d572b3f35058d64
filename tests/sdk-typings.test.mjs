// The package's public TypeScript declarations: no `any`, and every method and property of
// the SDK's classes documented with an example.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const declarationFiles = ['pkg/node/runloop_wasm.d.ts', 'js/errors.d.cts', 'js/index.d.cts'];

/** Members wasm-bindgen adds to every class, documented by TypeScript itself. */
const generatedMembers = /^(free\(\): void;|\[Symbol\.dispose\]\(\): void;|private constructor\(\);)$/;

/** Returns the declaration lines with comments removed. */
function codeLines(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, ''));
}

test('declarations contain no any', async () => {
  for (const file of declarationFiles) {
    const text = await readFile(path.join(repoRoot, file), 'utf8');

    const offending = codeLines(text).filter((line) => /\bany\b/.test(line));

    assert.deepEqual(offending, [], `${file} uses any`);
  }
});

test('every class member has a doc comment with an example', async () => {
  const text = await readFile(path.join(repoRoot, 'pkg/node/runloop_wasm.d.ts'), 'utf8');
  const lines = text.split('\n');
  const undocumented = [];
  let checked = 0;
  let container = null;

  for (const [index, line] of lines.entries()) {
    const opening = line.match(/^export (?:declare )?(?:class|interface) (\w+)/);
    if (opening) {
      container = opening[1];
      continue;
    }
    if (/^}/.test(line)) {
      container = null;
      continue;
    }
    // Members sit one level in: 4 spaces in wasm-bindgen's output, 2 in custom sections.
    const member = line.match(/^(?: {2}| {4})(\S.*)$/);
    if (!container || !member || generatedMembers.test(member[1])) continue;
    if (!/^[\w[\]. ]+(<[^>]*>)?\(|^(get |set |readonly )/.test(member[1])) continue;
    checked += 1;

    let cursor = index - 1;
    const comment = [];
    if (lines[cursor]?.trim() === '*/') {
      while (cursor >= 0 && !lines[cursor].includes('/**')) comment.unshift(lines[cursor--]);
    }
    if (!comment.some((commentLine) => commentLine.includes('```'))) {
      undocumented.push(`${container}: ${member[1]}`);
    }
  }

  assert.deepEqual(undocumented, [], 'members without a doc example');
  assert.ok(checked > 100, `only ${checked} members found; the declaration layout changed`);
});
