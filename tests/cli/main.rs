//! strata through its real binary on real SQLite files. Each test reads like
//! a user's session and asserts on the database first, output second.

mod common;

mod autogen;

mod config;
mod corpus;
mod crash;
mod docs;
mod dqlite;
mod embedding;
mod errors;
mod faults;
mod fleet;
mod fuzzlike;
mod graph;
mod hostile;
mod import;
mod json;
mod lifecycle;
mod lint;
mod migrate;
mod pictures;
mod races;
mod realworld;
mod roundtrip;
mod safety;
mod squash;
mod stranger;
