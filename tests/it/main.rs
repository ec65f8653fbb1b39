//! Integration tests: a real [`hub_tests::TestHub`] driven over plain HTTP, `git clone` and
//! `git push`.

mod admin;
mod cdn;
mod client;
mod faults;
mod git;
mod lfs;
mod resolve;
mod support;
