// Types of the package for every entry point: the classes and wire types generated from Rust
// (identical in the Node and web builds) and the error classes.

export * from '../pkg/node/runloop_wasm.js';
export * from './errors.cjs';
