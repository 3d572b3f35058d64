// Entry point for browsers and bundlers: instantiates the web build with a top-level await, so
// users never call an init function, and registers the error classes with it.

import init, { __registerErrorClasses } from '../pkg/web/runloop_wasm.js';
import * as errors from '../pkg/errors.mjs';

await init();
__registerErrorClasses(errors);

export {
  RunloopSDK,
  DevboxOps,
  Devbox,
  DevboxCmdOps,
  DevboxFileOps,
  ExecutionResult,
  SnapshotOps,
  Snapshot,
} from '../pkg/web/runloop_wasm.js';
export * from '../pkg/errors.mjs';
