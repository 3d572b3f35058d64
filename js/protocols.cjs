'use strict';
// Adds the JS protocols that wasm-bindgen cannot declare on the SDK's classes: async
// iteration over output streams and lists, `then` on lists, so that `await list(...)` and
// `for await (... of list(...))` both work, and `Symbol.asyncDispose`. Both entry points
// call `installProtocols` once with the wasm build's classes. scripts/build.sh wraps this file as an ES module for
// the browser entry.

/** Iterates over every item of every page of a list, fetching pages as the loop advances. */
async function* allItems(list) {
  let cursor = null;
  do {
    const page = await list.fetchPage(cursor);
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/** Collects every item of every page. */
async function collect(list) {
  const items = [];
  for await (const item of allItems(list)) items.push(item);
  return items;
}

/**
 * Makes a list class awaitable and async iterable. `awaitAll` decides what `await` gives:
 * every item (true) or the first page (false).
 */
function installList(ListClass, awaitAll) {
  Object.defineProperty(ListClass.prototype, Symbol.asyncIterator, {
    configurable: true,
    value() {
      return allItems(this);
    },
  });
  Object.defineProperty(ListClass.prototype, 'then', {
    configurable: true,
    value(onFulfilled, onRejected) {
      const items = awaitAll ? collect(this) : this.fetchPage(null).then((page) => page.items);
      return items.then(onFulfilled, onRejected);
    },
  });
}

/** Makes an iterator class (with `next` and `return`) usable in `for await`. */
function installIterator(IteratorClass) {
  Object.defineProperty(IteratorClass.prototype, Symbol.asyncIterator, {
    configurable: true,
    value() {
      return this;
    },
  });
}

/**
 * Makes `await using` work: `Devbox` shuts down when its scope ends, and
 * `snapshot.disposable()` returns an `AsyncDisposable` that deletes the snapshot. Runtimes
 * without `Symbol.asyncDispose` (older browsers) get the registered symbol
 * `Symbol.for('Symbol.asyncDispose')`, the one TypeScript's downlevel `await using` finds
 * once a polyfill has set it.
 */
function installDisposal(sdk) {
  if (typeof Symbol.asyncDispose !== 'symbol') {
    Object.defineProperty(Symbol, 'asyncDispose', {
      configurable: true,
      value: Symbol.for('Symbol.asyncDispose'),
    });
  }
  const { __disposeDevbox: disposeDevbox, __disposeSnapshot: disposeSnapshot } = sdk;

  Object.defineProperty(sdk.Devbox.prototype, Symbol.asyncDispose, {
    configurable: true,
    value() {
      return disposeDevbox(this);
    },
  });
  Object.defineProperty(sdk.Snapshot.prototype, 'disposable', {
    configurable: true,
    value() {
      const snapshot = this;
      return Object.freeze({
        snapshot,
        [Symbol.asyncDispose]: () => disposeSnapshot(snapshot),
      });
    },
  });
}

/** Installs the protocols on the classes of one wasm build. */
function installProtocols(sdk) {
  installList(sdk.DevboxList, false);
  installList(sdk.SnapshotList, true);
  installIterator(sdk.OutputLines);
  installIterator(sdk.OutputChunks);
  installDisposal(sdk);
}

module.exports = { installProtocols };
