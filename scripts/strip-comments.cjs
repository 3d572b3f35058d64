'use strict';
// Removes the comments from wasm-bindgen's JS glue, which repeat every doc comment of the
// Rust exports; the `.d.ts` files keep them for editors. TypeScript's own parser does the
// work, so strings and regular expressions that look like comments are left alone.
//
// Usage: node scripts/strip-comments.cjs FILE...   (each file is rewritten in place)

const { readFileSync, writeFileSync } = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  removeComments: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Preserve,
  allowJs: true,
};

for (const file of process.argv.slice(2)) {
  const source = readFileSync(file, 'utf8');
  const { outputText, diagnostics } = ts.transpileModule(source, {
    compilerOptions,
    fileName: file,
    reportDiagnostics: true,
  });
  if (diagnostics?.length) {
    const messages = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    throw new Error(`cannot strip comments from ${file}:\n${messages.join('\n')}`);
  }
  writeFileSync(file, outputText);
}
