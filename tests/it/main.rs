//! The TestHub's self-tests: a real [`hub_tests::TestHub`] driven over plain HTTP, `git clone`
//! and `git push`, with no client crate in between (the tests of `hub-api`'s client against it
//! live in `crates/hub-api/tests`).

mod admin;
mod api;
mod cdn;
mod commit;
mod faults;
mod git;
mod header_fault;
mod large;
mod lfs;
mod resolve;
mod support;
