//! The diff: `Schema × Schema -> Vec<Change>`, pure. Each change knows its
//! inverse (`Change::reverse`), so a down script is the up change list
//! reversed and planned again, never a second diff.
//!
//! Arrives with autogenerate (`strata migrate`).
