//! One file per subcommand: its arguments and an `exec` that makes one
//! library call and prints the result.

mod branches;
mod check;
mod completions;
mod current;
mod diff;
mod downgrade;
mod dump;
mod erd;
mod fleet;
mod graph;
mod heads;
mod history;
mod import;
mod init;
mod lint;
mod man;
mod merge;
mod migrate;
mod rehash;
mod revision;
mod show;
mod squash;
mod stamp;
mod upgrade;
mod verify;

use std::process::ExitCode;

use clap::Subcommand;

use crate::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a strata project here: strata.toml, schema.sql and migrations/
    #[command(
        after_help = "Examples:\n  strata init                           start an empty project (database app.db)\n  strata -d data/app.db init            start one whose database is data/app.db\n  strata -d legacy.db init --from-db    adopt an existing database"
    )]
    Init(init::Args),
    /// Bring a history from refinery, sqlx, goose, dbmate, diesel or Flask-Migrate
    #[command(
        after_help = "Examples:\n  strata -d app.db import --from sqlx --dry-run   see what would be written\n  strata -d app.db import --from refinery         convert and adopt\n  strata -d instance/app.db import --from flask-migrate"
    )]
    Import(import::Args),
    /// Autogenerate a revision: diff schema.sql against the database at head
    #[command(
        after_help = "Examples:\n  strata migrate -m \"users table\"\n  strata migrate -m \"bio\" --rename user.about=bio\n  strata migrate -m \"full name\" --fill \"person.full_name=first || ' ' || last\""
    )]
    Migrate(migrate::Args),
    /// Write an empty revision to fill in by hand (data migrations)
    Revision(revision::Args),
    /// Apply revisions up to TARGET (default: head)
    #[command(
        after_help = "Examples:\n  strata upgrade                        apply every pending revision\n  strata upgrade +1                     apply the next one\n  strata upgrade --backup               copy the database first\n  strata upgrade --sql | sqlite3 app.db the same, as a script\n  strata upgrade --sql base:head        the whole script, for an empty database\n  strata upgrade --each 'tenants/*.db'  every tenant database (docs/fleet.md)"
    )]
    Upgrade(upgrade::Args),
    /// Revert revisions down to TARGET (default: -1)
    #[command(
        after_help = "Examples:\n  strata downgrade                      revert the last revision\n  strata downgrade -2                   revert the last two\n  strata downgrade base                 revert everything\n  strata downgrade --sql head:base      the script that reverts everything"
    )]
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
    /// Accept the edited files of an applied revision (records their checksums, logged)
    Rehash(rehash::Args),
    /// Write a merge revision joining several heads
    Merge(merge::Args),
    /// Replace base..REV with one revision; part-way databases still upgrade
    #[command(
        after_help = "Examples:\n  strata squash --to 20261126120000 --dry-run   see what it would do\n  strata squash --to 20261126120000             squash base..that revision\n  strata squash --to head --data keep           keep seed rows and backfills\n  strata squash --prune                         remove migrations/squashed when no database needs it"
    )]
    Squash(squash::Args),
    /// For CI: one head, revisions that build schema.sql, no edited revision
    #[command(
        after_help = "Examples:\n  strata check                          exit 1 if anything is wrong\n  strata check --format json            the same facts as JSON"
    )]
    Check(check::Args),
    /// For CI: the revisions a change adds, checked for what breaks a running app or loses data
    #[command(
        after_help = "Examples:\n  strata lint                           every revision\n  strata lint --since origin/main       what this branch adds (a git ref)\n  strata lint --since 20261126120000    what follows a revision\n  strata lint --format github           annotations on the files in a pull request\n  strata lint --rules                   the rules and their codes"
    )]
    Lint(lint::Args),
    /// Show drift: the live database against schema.sql (or its revisions)
    Diff(diff::Args),
    /// Print the live database's schema as normalized DDL
    Dump(dump::Args),
    /// Run every revision up, down, up in a scratch database
    Verify(verify::Args),
    /// Draw the revision graph (--format dot or mermaid; text for a terminal)
    #[command(
        after_help = "Examples:\n  strata graph                          draw it in the terminal\n  strata graph --format dot | dot -Tsvg > revisions.svg\n  strata graph --format mermaid         paste into Markdown"
    )]
    Graph(graph::Args),
    /// Draw the schema: tables, columns, foreign keys, views (--format dot or mermaid)
    #[command(
        after_help = "Examples:\n  strata erd --format dot | dot -Tsvg > schema.svg\n  strata erd --live --format mermaid    the database's schema"
    )]
    Erd(erd::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(completions::Args),
    /// Print strata's man page (roff)
    Man(man::Args),
}

pub fn exec(command: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let draws = matches!(command, Command::Graph(_) | Command::Erd(_));
    if ctx.out.format == crate::output::Format::Github && !matches!(command, Command::Lint(_)) {
        return Err(strata::Error::from(strata::error::CommandError::NotGithub).into());
    }
    if !draws
        && matches!(
            ctx.out.format,
            crate::output::Format::Dot | crate::output::Format::Mermaid
        )
    {
        return Err(strata::Error::from(strata::error::CommandError::NotAPicture).into());
    }
    match command {
        Command::Init(args) => init::exec(args, ctx),
        Command::Import(args) => import::exec(args, ctx),
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
        Command::Rehash(args) => rehash::exec(args, ctx),
        Command::Merge(args) => merge::exec(args, ctx),
        Command::Squash(args) => squash::exec(args, ctx),
        Command::Check(args) => check::exec(args, ctx),
        Command::Lint(args) => lint::exec(args, ctx),
        Command::Diff(args) => diff::exec(args, ctx),
        Command::Dump(args) => dump::exec(args, ctx),
        Command::Verify(args) => verify::exec(args, ctx),
        Command::Graph(args) => graph::exec(args, ctx),
        Command::Erd(args) => erd::exec(args, ctx),
        Command::Completions(args) => completions::exec(args, ctx),
        Command::Man(args) => man::exec(args, ctx),
    }
}

pub use strata::command::revs_or_base;
