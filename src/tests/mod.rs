//! Native tests of the client core, the waits and the output rules, through a fake platform.

mod client;
mod fake;
mod fake_api;
mod helpers;
mod output;
mod stream;
mod wait;
