'use strict';
// Entry point for `require('runloop-wasm')` in Node. It is also the one instance behind the
// ES module entry (node.mjs), so `require` and `import` share one wasm module and one set of
// error classes.

// `__memoryBytes` is a test hook; it stays out of the package's exports.
const {
  __registerErrorClasses,
  __registerTransport,
  __memoryBytes,
  ...sdk
} = require('../pkg/node/runloop_wasm.js');
const errors = require('./errors.cjs');
const { installProtocols } = require('./protocols.cjs');
const transport = require('./transport.cjs');

__registerErrorClasses(errors);
__registerTransport(transport);
installProtocols(sdk);

// The disposal functions behind `Symbol.asyncDispose` stay out of the exports too.
const { __disposeDevbox, __disposeSnapshot, ...classes } = sdk;

module.exports = { ...classes, ...errors };
