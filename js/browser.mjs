// Entry point for browsers and bundlers: instantiates the web build with a top-level await, so
// users never call an init function, registers the error classes and the transport with it
// and adds the async iteration protocols.

import init, * as sdk from '../pkg/web/runloop_wasm.js';
import * as errors from '../pkg/errors.mjs';
import { installProtocols } from '../pkg/protocols.mjs';
import * as transport from '../pkg/transport.mjs';

await init();
sdk.__registerErrorClasses(errors);
sdk.__registerTransport(transport);
installProtocols(sdk);

export {
  RunloopSDK,
  DevboxOps,
  DevboxList,
  Devbox,
  DevboxCmdOps,
  DevboxFileOps,
  Execution,
  ExecutionResult,
  OutputLines,
  OutputChunks,
  SnapshotOps,
  SnapshotList,
  Snapshot,
  RunloopApi,
  DevboxesApi,
  ExecutionsApi,
  DiskSnapshotsApi,
  LogsApi,
} from '../pkg/web/runloop_wasm.js';
export * from '../pkg/errors.mjs';
