//! Runloop devbox SDK for JavaScript, compiled to WebAssembly.
