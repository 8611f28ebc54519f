//! The `strata` binary: parses arguments, calls one library function per
//! subcommand, prints what it returns, and turns errors into one `error:`
//! line and an exit code (0 success, 1 failure, 2 usage or configuration).

mod commands;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};
use strata::config::{Locator, Project};

use output::{ColorChoice, Format, Printer};

/// Schema migrations for SQLite: declare schema.sql, get versioned up/down
/// revisions, apply them safely.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: commands::Command,
}

/// Options every subcommand accepts, before or after its name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
struct Global {
    /// Run as if strata was started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Use this strata.toml instead of searching for one
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The database: a path, sqlite:app.db, sqlite:///relative.db,
    /// sqlite:////absolute.db, or a dqlite cluster
    /// dqlite://HOST:PORT[,HOST:PORT...]/NAME (overrides DATABASE_URL and
    /// strata.toml)
    #[arg(
        short = 'd',
        long,
        global = true,
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// Output format for data
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print only errors and data
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print more detail
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// When to colour messages (NO_COLOR is honoured)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// What a subcommand needs from the global options.
pub struct Ctx {
    pub locator: Locator,
    pub out: Printer,
}

impl Ctx {
    /// The project, found as docs/design.md §1 describes.
    pub fn project(&self) -> anyhow::Result<Project> {
        Ok(Project::discover(&self.locator).map_err(strata::Error::from)?)
    }

    /// [`Ctx::project`] for a command that only reads the database: on a
    /// cluster, pointed at a snapshot of it for as long as the guard lives.
    pub fn reading_project(&self) -> anyhow::Result<Reading> {
        Reading::of(self.project()?)
    }

    /// [`Ctx::database_project`], reading as [`Ctx::reading_project`] does.
    pub fn reading_database_project(&self) -> anyhow::Result<Reading> {
        Reading::of(self.database_project()?)
    }

    /// The project, or just the database `-d` / `DATABASE_URL` names when
    /// there is no strata.toml: for commands that read only the database.
    pub fn database_project(&self) -> anyhow::Result<Project> {
        Ok(Project::discover_or_database(&self.locator).map_err(strata::Error::from)?)
    }
}

/// A project whose database can be read as a file: a cluster's snapshot
/// lives as long as this does.
pub struct Reading {
    project: Project,
    _snapshot: Option<strata::command::cluster::Snapshot>,
}

impl Reading {
    fn of(project: Project) -> anyhow::Result<Reading> {
        let (project, snapshot) = strata::command::cluster::readable(&project)?;
        Ok(Reading {
            project,
            _snapshot: snapshot,
        })
    }
}

impl From<Project> for Reading {
    /// A project read from schema.sql alone: no snapshot needed.
    fn from(project: Project) -> Reading {
        Reading {
            project,
            _snapshot: None,
        }
    }
}

impl std::ops::Deref for Reading {
    type Target = Project;
    fn deref(&self) -> &Project {
        &self.project
    }
}

fn main() -> ExitCode {
    // SAFETY: runs first, before any SQLite connection or thread exists, as
    // sqlite3_config requires.
    unsafe {
        rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0);
    }
    let (cli, database_from_env) = parse_cli();
    // Ctrl-C during a write rolls the revision back instead of leaving the
    // rollback to the journal; without a handler signals keep their defaults.
    let _ = strata::interrupt::install();
    let out = Printer::new(
        cli.global.format,
        cli.global.quiet,
        cli.global.verbose,
        cli.global.color,
    );
    let ctx = Ctx {
        locator: Locator {
            dir: cli.global.dir,
            config: cli.global.config,
            // clap shows `[env: DATABASE_URL]` and reads it; strata keeps
            // the two apart, since messages say which one was used.
            database: cli.global.database.clone().filter(|_| !database_from_env),
            database_url: std::env::var("DATABASE_URL").ok(),
        },
        out,
    };
    match commands::exec(cli.command, &ctx) {
        Ok(code) => code,
        Err(err) => report(&ctx.out, &err),
    }
}

/// Parses the command line, with `--color` applied to clap's own messages
/// too (its usage errors and help come before strata's printer exists), so
/// one colour choice covers everything strata prints.
fn parse_cli() -> (Cli, bool) {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut choice = None;
    for (i, arg) in args.iter().enumerate() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        let value = match arg.strip_prefix("--color") {
            Some("") => args.get(i + 1).map(|v| v.to_string_lossy().into_owned()),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        };
        if let Some(value) = value {
            choice = ColorChoice::from_str(&value, true).ok();
        }
    }
    let color = choice.unwrap_or(ColorChoice::Auto);
    anstream::ColorChoice::write_global(output::color_choice(color));
    let clap_color = match color {
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
        ColorChoice::Auto => clap::ColorChoice::Auto,
    };
    let json = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    let matches = match Cli::command().color(clap_color).try_get_matches_from(&args) {
        Ok(matches) => matches,
        // Usage errors under --format json are JSON documents too; help and
        // --version print as they always do.
        Err(e) if json && e.use_stderr() => {
            let out = Printer::new(Format::Json, false, 0, color);
            let message = e
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string();
            out.emit_json(&serde_json::json!({ "error": message, "hint": serde_json::Value::Null, "exit_code": 2 }));
            std::process::exit(2);
        }
        Err(e) => e.exit(),
    };
    let from_env =
        global_source(&matches, "database") == Some(clap::parser::ValueSource::EnvVariable);
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => (cli, from_env),
        Err(e) => e.exit(),
    }
}

/// Where a global option's value came from, looking into the subcommand's
/// matches too (a global option may follow the subcommand).
fn global_source(matches: &clap::ArgMatches, id: &str) -> Option<clap::parser::ValueSource> {
    let sub = matches.subcommand().and_then(|(_, m)| {
        m.value_source(id)
            .filter(|s| *s != clap::parser::ValueSource::DefaultValue)
    });
    sub.or_else(|| matches.value_source(id))
}

/// Prints `error: …` (plus a hint) once and picks the exit code.
fn report(out: &Printer, err: &anyhow::Error) -> ExitCode {
    let lib = err.chain().find_map(|e| e.downcast_ref::<strata::Error>());
    let code = lib.map_or(1, strata::Error::exit_code);
    let hint = lib.and_then(strata::Error::hint);
    // strata's errors already say what their cause said; printing the
    // whole chain would repeat it.
    let message = match err.downcast_ref::<strata::Error>() {
        Some(top) => top.to_string(),
        None => format!("{err:#}"),
    };
    if out.json() {
        out.emit_json(&serde_json::json!({ "error": message, "hint": hint, "exit_code": code }));
    }
    out.error(&message, hint.as_deref());
    ExitCode::from(code as u8)
}
