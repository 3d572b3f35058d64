// Entry point for `import ... from 'runloop-wasm'` in Node: re-exports the CommonJS entry, so
// that code mixing `import` and `require` sees the same classes.

import sdk from './node.cjs';

export const {
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
  RunloopError,
  APIError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  PollingTimeoutError,
} = sdk;
