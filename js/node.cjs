'use strict';
// Entry point for `require('runloop-wasm')` in Node. It is also the one instance behind the
// ES module entry (node.mjs), so `require` and `import` share one wasm module and one set of
// error classes.

const { __registerErrorClasses, ...sdk } = require('../pkg/node/runloop_wasm.js');
const errors = require('./errors.cjs');

__registerErrorClasses(errors);

module.exports = { ...sdk, ...errors };
