'use strict';
// The SDK's error classes. The entry points register them with the wasm module, which builds
// every error through `new Class(message, fields)`, so `instanceof` works on what users
// import. scripts/build.sh wraps this file as an ES module for the browser entry.

/** Base class of every error the SDK throws or rejects with. */
class RunloopError extends Error {
  constructor(message, options) {
    super(message, options && options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
  }
}

/** An HTTP exchange that failed: a status outside 2xx, or no response at all. */
class APIError extends RunloopError {
  constructor(message, { status, requestId, headers, body, cause } = {}) {
    super(message, { cause });
    this.status = status;
    this.requestId = requestId;
    this.headers = headers;
    this.body = body;
  }
}

class BadRequestError extends APIError {}
class AuthenticationError extends APIError {}
class PermissionDeniedError extends APIError {}
class NotFoundError extends APIError {}
class ConflictError extends APIError {}
class UnprocessableEntityError extends APIError {}
class RateLimitError extends APIError {}
class InternalServerError extends APIError {}

/** No response arrived; `cause` is the error `fetch` rejected with. */
class APIConnectionError extends APIError {
  constructor(message = 'Connection error.', fields = {}) {
    super(message, fields);
  }
}

/** A request attempt took longer than its timeout. */
class APIConnectionTimeoutError extends APIConnectionError {
  constructor(message = 'Request timed out.', fields = {}) {
    super(message, fields);
  }
}

/** The caller's `AbortSignal` fired. */
class APIUserAbortError extends APIError {
  constructor(message = 'Request was aborted.', fields = {}) {
    super(message, fields);
  }
}

/** A wait ran out of time; `lastResult` is the last state the server returned, or `null`. */
class PollingTimeoutError extends RunloopError {
  constructor(message, { lastResult = null, cause } = {}) {
    super(message, { cause });
    this.lastResult = lastResult;
  }
}

module.exports = {
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
};
