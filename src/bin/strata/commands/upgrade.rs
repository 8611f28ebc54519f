use std::process::ExitCode;
use std::time::Duration;

use strata::command::{RunEvent, RunOutcome, RunRequest};
use strata::graph::Direction;
use strata::runner::{Options, RowProgress, Statement};

use crate::Ctx;
use strata::error::CommandError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// head, a revision id or unique prefix, or +N; with --sql also a range
    /// FROM:TO (base:head for an empty database)
    #[arg(default_value = "head", allow_negative_numbers = true)]
    target: String,
    #[command(flatten)]
    run: RunArgs,
}

/// Flags shared by upgrade and downgrade.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Print the SQL (bookkeeping included) instead of running it. It starts
    /// from the database's current revision (read, never written), from base
    /// when there is no database, or from FROM when TARGET is a range FROM:TO
    #[arg(long)]
    pub sql: bool,
    /// Run the revisions, then roll everything back
    #[arg(long)]
    pub dry_run: bool,
    /// Copy the database (SQLite online backup) before changing it
    #[arg(long)]
    pub backup: bool,
    /// Seconds to wait for another process's lock
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub lock_timeout: u64,
    /// Run even if an applied revision's file changed since
    #[arg(long)]
    pub ignore_checksums: bool,
    /// Run every revision in one transaction: all or none
    #[arg(long)]
    pub single_transaction: bool,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

pub fn exec(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    run(ctx, Direction::Upgrade, args.target, args.run)
}

pub fn run(
    ctx: &Ctx,
    direction: Direction,
    target: String,
    args: RunArgs,
) -> anyhow::Result<ExitCode> {
    if args.fleet.given() {
        for (set, flag) in [
            (args.sql, "--sql"),
            (args.dry_run, "--dry-run"),
            (args.single_transaction, "--single-transaction"),
            (args.ignore_checksums, "--ignore-checksums"),
        ] {
            if set {
                return Err(strata::Error::from(CommandError::FleetFlag { flag }).into());
            }
        }
        let verb = match direction {
            Direction::Upgrade => strata::command::FleetVerb::Upgrade(target),
            Direction::Downgrade => strata::command::FleetVerb::Downgrade(target),
        };
        return super::fleet::run(ctx, &args.fleet, verb, args.lock_timeout, args.backup);
    }
    let single_transaction = args.single_transaction;
    let project = ctx.project()?;
    if args.sql {
        if ctx.out.json() {
            // One document per command: a script is not one.
            return Err(strata::Error::from(CommandError::NotJson {
                what: "--sql",
                carries: "an SQL script",
                advice: "; drop one of the two",
            })
            .into());
        }
        let rendered =
            strata::command::render_sql(&project, direction, &target, single_transaction)?;
        match rendered.start_from {
            "database" => ctx.out.status(format!(
                "-- starting from {} ({}'s current revision; read, not written)",
                rendered.start,
                project.database_label().unwrap_or_default()
            )),
            "base" => ctx.out.status("-- starting from base (no database yet)"),
            _ => {}
        }
        ctx.out.data(rendered.sql);
        return Ok(ExitCode::SUCCESS);
    }
    let request = RunRequest {
        target,
        options: Options {
            lock_timeout: Duration::from_secs(args.lock_timeout),
            single_transaction,
            dry_run: args.dry_run,
            ignore_checksums: args.ignore_checksums,
            trace: (ctx.out.verbose > 0 && !ctx.out.quiet && !ctx.out.json())
                .then_some(trace as fn(&Statement<'_>)),
            rows: ctx
                .out
                .progress()
                .then_some(copy_progress as fn(&RowProgress<'_>)),
            reconnected: (!ctx.out.quiet && !ctx.out.json())
                .then_some(reconnected as fn(&str, &str)),
        },
        backup: args.backup,
    };
    let out = &ctx.out;
    let database = project
        .database_label()
        .ok_or(strata::Error::from(strata::config::ConfigError::NoDatabase))?;
    let mut bar = crate::output::Progress::none();
    let mut copying = crate::output::Progress::none();
    let mut done = 0;
    let outcome = strata::command::migrate_database(&project, direction, &request, &mut |event| {
        let step = match event {
            RunEvent::Start { pending } => {
                bar = out.bar(pending as u64, "revisions");
                return;
            }
            RunEvent::BackingUp => {
                copying = out.spinner(format!("copying {database}"));
                return;
            }
            RunEvent::Backup { path } => {
                copying = crate::output::Progress::none();
                bar.above(out, format!("Backup of {database} written to {path}"));
                return;
            }
            RunEvent::Step(step) => step,
        };
        bar.set(done, step.message.clone());
        done += 1;
        let rev = format!(
            "{}, {}",
            match direction {
                Direction::Upgrade => format!(
                    "{} -> {}",
                    super::revs_or_base(&step.parents),
                    step.revision
                ),
                Direction::Downgrade => format!(
                    "{} -> {}",
                    step.revision,
                    super::revs_or_base(&step.parents)
                ),
            },
            step.message
        );
        bar.above(out, format!("Running {} {rev}", direction.as_str()));
    })?;
    drop(bar);
    drop(copying);
    print_outcome(ctx, &outcome);
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(ctx: &Ctx, outcome: &RunOutcome) {
    if ctx.out.json() {
        ctx.out.emit_json(outcome);
        return;
    }
    let at = super::revs_or_base(&outcome.current);
    let n = outcome.report.steps.len();
    let total = outcome.duration_ms;
    if outcome.report.dry_run {
        ctx.out.status(format!(
            "Dry run: {n} revision(s) ran and were rolled back; {} is unchanged.",
            outcome.database
        ));
    } else if n == 0 {
        ctx.out.status(format!(
            "Nothing to {}: {} is at {at}.",
            outcome.direction.as_str(),
            outcome.database
        ));
    } else {
        let head = if outcome.at_head { " (head)" } else { "" };
        ctx.out.status(format!(
            "{} is now at {at}{head} ({n} revision(s), {total} ms).",
            outcome.database
        ));
    }
}

/// `-v`: each statement as it finishes, with its time, on stderr.
/// A cluster's leader went away during the run.
fn reconnected(why: &str, leader: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "{why}\n  reconnected to the leader at {leader}; reading strata_history there before going on"
    );
}

fn trace(stmt: &Statement<'_>) {
    use std::io::Write as _;
    let first = stmt.sql.trim().lines().next().unwrap_or_default();
    let more = if stmt.sql.trim().lines().nth(1).is_some() {
        " …"
    } else {
        ""
    };
    let _ = writeln!(
        std::io::stderr(),
        "  {:>9.3} ms  {}:{}  {first}{more}",
        stmt.elapsed.as_secs_f64() * 1000.0,
        stmt.file,
        stmt.line
    );
}

/// The bar of a table rebuild's copy, while one runs.
static COPY_BAR: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Rows copied during a table rebuild, with rate and ETA (a terminal only).
fn copy_progress(p: &RowProgress<'_>) {
    let mut slot = COPY_BAR.lock().unwrap_or_else(|e| e.into_inner());
    if p.finished {
        if let Some(bar) = slot.take() {
            bar.finish_and_clear();
        }
        return;
    }
    let bar = slot.get_or_insert_with(|| {
        let bar = indicatif::ProgressBar::new(p.total);
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {human_pos}/{human_len} rows of {msg}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    });
    bar.set_position(p.done);
    let seconds = bar.elapsed().as_secs_f64().max(0.001);
    bar.set_message(format!(
        "{} ({:.0} rows/s)",
        p.table,
        p.done as f64 / seconds
    ));
}
