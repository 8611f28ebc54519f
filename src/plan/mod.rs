//! The planner: `Vec<Change> -> Plan`, pure, with SQLite's exact rules for
//! ALTER TABLE and the 12-step table rebuild for everything else.
//!
//! Arrives with autogenerate (`strata migrate`).
