//! Integration tests: a real [`hub_tests::TestHub`] driven over plain HTTP, `git clone` and
//! `git push`.

mod admin;
mod api;
mod cdn;
mod client;
mod commit;
mod download;
mod faults;
mod git;
mod header_fault;
mod large;
mod lfs;
mod proxy;
mod resolve;
mod rest;
mod snapshot;
mod support;
