//! One file per subcommand: its arguments and an `exec` that makes one
//! library call and prints the result.

mod branches;
mod check;
mod current;
mod diff;
mod downgrade;
mod dump;
mod heads;
mod history;
mod init;
mod merge;
mod migrate;
mod revision;
mod show;
mod stamp;
mod upgrade;
mod verify;

use std::process::ExitCode;

use clap::Subcommand;

use crate::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a strata project here: strata.toml, schema.sql and migrations/
    Init(init::Args),
    /// Autogenerate a revision: diff schema.sql against the database at head
    Migrate(migrate::Args),
    /// Write an empty revision to fill in by hand (data migrations)
    Revision(revision::Args),
    /// Apply revisions up to TARGET (default: head)
    Upgrade(upgrade::Args),
    /// Revert revisions down to TARGET (default: -1)
    Downgrade(downgrade::Args),
    /// List every revision, newest first, with its state in the database
    History(history::Args),
    /// Show the database's current revision(s)
    Current(current::Args),
    /// Show the heads of the revision graph
    Heads(heads::Args),
    /// Show where the revision graph branches
    Branches(branches::Args),
    /// Show a revision's header and scripts (default: head)
    Show(show::Args),
    /// Record the database as being at REV without running any script
    Stamp(stamp::Args),
    /// Write a merge revision joining several heads
    Merge(merge::Args),
    /// For CI: one head, revisions that build schema.sql, no edited revision
    Check(check::Args),
    /// Show drift: the live database against schema.sql (or its revisions)
    Diff(diff::Args),
    /// Print the live database's schema as normalized DDL
    Dump(dump::Args),
    /// Run every revision up, down, up in a scratch database
    Verify(verify::Args),
}

pub fn exec(command: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(args) => init::exec(args, ctx),
        Command::Migrate(args) => migrate::exec(args, ctx),
        Command::Revision(args) => revision::exec(args, ctx),
        Command::Upgrade(args) => upgrade::exec(args, ctx),
        Command::Downgrade(args) => downgrade::exec(args, ctx),
        Command::History(args) => history::exec(args, ctx),
        Command::Current(args) => current::exec(args, ctx),
        Command::Heads(args) => heads::exec(args, ctx),
        Command::Branches(args) => branches::exec(args, ctx),
        Command::Show(args) => show::exec(args, ctx),
        Command::Stamp(args) => stamp::exec(args, ctx),
        Command::Merge(args) => merge::exec(args, ctx),
        Command::Check(args) => check::exec(args, ctx),
        Command::Diff(args) => diff::exec(args, ctx),
        Command::Dump(args) => dump::exec(args, ctx),
        Command::Verify(args) => verify::exec(args, ctx),
    }
}

pub use strata::command::revs_or_base;
