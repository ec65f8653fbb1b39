//! The integration tests of `hub-api`: its transport, downloads into the cache, snapshots and
//! REST client against a local TestHub (`hub-tests`, started in-process), checked by what a
//! caller relies on: typed errors, what lands in the cache, and (through the hub's counters)
//! what crossed the network.

mod client;
mod download;
mod proxy;
mod rest;
mod snapshot;
mod support;
