// Types of the error classes in errors.cjs.

import type {
  DevboxAsyncExecutionDetailView,
  DevboxSnapshotAsyncStatusView,
  DevboxView,
} from '../pkg/node/runloop_wasm.js';

/** Fields of an `APIError`, as passed to its constructor. */
export interface APIErrorFields {
  status?: number;
  requestId?: string;
  headers?: Record<string, string>;
  body?: unknown;
  cause?: unknown;
}

/** Base class of every error the SDK throws or rejects with. */
export declare class RunloopError extends Error {
  constructor(message?: string, options?: { cause?: unknown });
}

/** An HTTP exchange that failed: a status outside 2xx, or no response at all. */
export declare class APIError extends RunloopError {
  constructor(message?: string, fields?: APIErrorFields);
  /** HTTP status; `undefined` when no response arrived. */
  readonly status: number | undefined;
  /** The response's `x-request-id`, else the idempotency key the SDK sent. */
  readonly requestId: string | undefined;
  /** Response headers, names in lower case. */
  readonly headers: Record<string, string> | undefined;
  /** Response body: parsed JSON when it is JSON, else the text. */
  readonly body: unknown;
}

/** Status 400. */
export declare class BadRequestError extends APIError {
  readonly status: 400;
}
/** Status 401: the API key is missing, wrong or expired. */
export declare class AuthenticationError extends APIError {
  readonly status: 401;
}
/** Status 403. */
export declare class PermissionDeniedError extends APIError {
  readonly status: 403;
}
/** Status 404. */
export declare class NotFoundError extends APIError {
  readonly status: 404;
}
/** Status 409: the resource is in a state that does not allow the call. */
export declare class ConflictError extends APIError {
  readonly status: 409;
}
/** Status 422. */
export declare class UnprocessableEntityError extends APIError {
  readonly status: 422;
}
/** Status 429. */
export declare class RateLimitError extends APIError {
  readonly status: 429;
}
/** Status 500 or above. */
export declare class InternalServerError extends APIError {
  readonly status: number;
}

/** No response arrived; `cause` is the error `fetch` rejected with. */
export declare class APIConnectionError extends APIError {
  readonly status: undefined;
}
/** A request attempt took longer than its timeout. */
export declare class APIConnectionTimeoutError extends APIConnectionError {}
/** The caller's `AbortSignal` fired. */
export declare class APIUserAbortError extends APIError {
  readonly status: undefined;
}

/** A wait ran out of time. */
export declare class PollingTimeoutError extends RunloopError {
  constructor(
    message?: string,
    fields?: { lastResult?: PollingTimeoutError['lastResult']; cause?: unknown },
  );
  /** The last state the server returned during the wait, or `null` if it returned none. */
  readonly lastResult:
    | DevboxView
    | DevboxAsyncExecutionDetailView
    | DevboxSnapshotAsyncStatusView
    | null;
}
