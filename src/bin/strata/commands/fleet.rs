//! `--each GLOB`, `--each-from FILE` and `--fleet` on upgrade, downgrade,
//! stamp and current: one command over many tenant databases
//! (docs/fleet.md). Results stream as tenants finish: a line each in
//! `--format json` (JSON Lines), a progress line on a terminal, a summary.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use strata::command::{FleetTask, FleetVerb};
use strata::error::CommandError;
use strata::fleet::{FleetOptions, FleetSummary, OnFailure, TenantResult, TenantStatus};

use crate::Ctx;

/// Which databases, and how to run over them.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// Run over every database this glob matches (repeatable): a fleet
    #[arg(long, value_name = "GLOB", help_heading = "Fleet")]
    pub each: Vec<String>,
    /// Run over the databases listed in FILE, one path or URL a line (- for stdin)
    #[arg(long, value_name = "FILE", help_heading = "Fleet")]
    pub each_from: Option<String>,
    /// Run over strata.toml's [fleet] databases
    #[arg(long, help_heading = "Fleet")]
    pub fleet: bool,
    /// Tenants worked on at once
    #[arg(long, value_name = "N", default_value_t = strata::fleet::DEFAULT_JOBS, help_heading = "Fleet")]
    pub jobs: usize,
    /// After a failed tenant, start no new one (the default)
    #[arg(long, conflicts_with = "keep_going", help_heading = "Fleet")]
    pub fail_fast: bool,
    /// Go on with every tenant after a failure
    #[arg(long, help_heading = "Fleet")]
    pub keep_going: bool,
    /// Run N tenants first; stop if any of them fails
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = "Fleet")]
    pub canary: usize,
}

impl FleetArgs {
    /// Whether a fleet was asked for at all.
    pub fn given(&self) -> bool {
        !self.each.is_empty() || self.each_from.is_some() || self.fleet
    }
}

/// The tenants, in the order given: globs first (each sorted), then the
/// list file, read as the run goes so a long list is never held.
fn tenants(
    ctx: &Ctx,
    args: &FleetArgs,
    project: &strata::config::Project,
) -> anyhow::Result<Box<dyn Iterator<Item = PathBuf> + Send>> {
    let start = strata::config::start_dir(&ctx.locator).map_err(strata::Error::from)?;
    let mut globbed = strata::command::glob_tenants(&start, &args.each)?;
    if args.fleet {
        if project.fleet.is_empty() {
            return Err(strata::Error::from(CommandError::FleetNotConfigured).into());
        }
        globbed = Box::new(globbed.chain(strata::command::glob_tenants(
            &project.root,
            &project.fleet,
        )?));
    }
    let listed: Box<dyn Iterator<Item = PathBuf> + Send> = match &args.each_from {
        None => Box::new(std::iter::empty()),
        Some(file) => {
            let reader: Box<dyn BufRead + Send> = if file == "-" {
                Box::new(std::io::BufReader::new(std::io::stdin()))
            } else {
                let path = start.join(file);
                let f = std::fs::File::open(&path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                Box::new(std::io::BufReader::new(f))
            };
            let base = start.clone();
            Box::new(
                reader
                    .lines()
                    .map_while(Result::ok)
                    .filter_map(move |line| {
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            return None;
                        }
                        // A URL as the other database settings take it; a line that
                        // is no URL is a path, and fails as that tenant if it is wrong.
                        let path = strata::config::parse_database_url(line)
                            .unwrap_or_else(|_| PathBuf::from(line));
                        Some(base.join(path))
                    }),
            )
        }
    };
    Ok(Box::new(globbed.chain(listed)))
}

/// Tenant lines shown before the rest are only counted (without -v).
const SHOWN: usize = 20;

/// Runs `verb` over the fleet and prints as it goes.
pub fn run(
    ctx: &Ctx,
    args: &FleetArgs,
    verb: FleetVerb,
    lock_timeout: u64,
    backup: bool,
) -> anyhow::Result<ExitCode> {
    let project = ctx.project()?;
    let reading = matches!(verb, FleetVerb::Current);
    let drift = matches!(verb, FleetVerb::Drift { .. });
    let task = FleetTask::new(&project, verb, Duration::from_secs(lock_timeout), backup)?;
    let heads = task.heads();
    let list = tenants(ctx, args, &project)?;
    let options = FleetOptions {
        jobs: args.jobs.max(1),
        on_failure: if args.keep_going {
            OnFailure::Continue
        } else {
            OnFailure::Stop
        },
        canary: args.canary,
    };
    let out = &ctx.out;
    let json = out.json();
    let bar = out.spinner(String::new());
    let started = Instant::now();
    let (mut done, mut failed) = (0usize, 0usize);
    // `current`: how many tenants at each revision; stragglers as they come.
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    let (mut shown, mut unshown) = (0usize, 0usize);
    let verbose = out.verbose > 0;
    let _hold = strata::interrupt::hold();
    let summary = strata::fleet::run(
        list,
        &options,
        strata::interrupt::flag(),
        |path| task.run(path),
        &mut |r: &TenantResult| {
            done += 1;
            if r.status == TenantStatus::Failed {
                failed += 1;
            }
            if reading && r.status != TenantStatus::Failed {
                *at.entry(label(&r.to)).or_default() += 1;
            }
            if json {
                if let Ok(line) = serde_json::to_string(r) {
                    out.data(line);
                }
            } else {
                // Failures always; the rest (changes, stragglers) the first
                // few, or all with -v: a fleet can be 100,000 tenants.
                if let Some(line) = tenant_line(r, reading, drift, &heads) {
                    if r.status == TenantStatus::Failed || verbose || shown < SHOWN {
                        bar.above(out, line);
                        shown += (r.status != TenantStatus::Failed) as usize;
                    } else {
                        unshown += 1;
                    }
                }
            }
            let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
            bar.set(
                done as u64,
                format!("{done} tenants, {failed} failed ({rate:.0}/s)"),
            );
        },
    );
    drop(bar);
    if unshown > 0 {
        out.status(format!(
            "  … and {unshown} more (-v lists every tenant; --format json streams them all)"
        ));
    }
    print_summary(ctx, &summary, reading, &at, &heads, drift);
    // `diff` fails when any tenant drifted, as it does for one database.
    let drifted = drift && summary.done > 0;
    Ok(
        if drifted
            || summary.failed > 0
            || (summary.stopped && summary.not_started > 0)
            || strata::interrupt::requested()
        {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn label(revs: &[String]) -> String {
    if revs.is_empty() {
        "base".into()
    } else {
        revs.join(",")
    }
}

/// The line a tenant gets on stderr: failures always, changes with the
/// verb's words, tenants already there only for `current` stragglers.
fn tenant_line(r: &TenantResult, reading: bool, drift: bool, heads: &[String]) -> Option<String> {
    if drift && r.status == TenantStatus::Done {
        let changes = r.changes.as_deref().unwrap_or_default();
        return Some(format!("  {} drifted: {}", r.database, changes.join("; ")));
    }
    match r.status {
        TenantStatus::Failed => Some(format!(
            "  FAILED {}: {}{}",
            r.database,
            r.error.as_deref().unwrap_or(""),
            r.hint
                .as_deref()
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default()
        )),
        _ if reading => (r.to != heads).then(|| {
            format!(
                "  {} is at {} ({} pending)",
                r.database,
                label(&r.to),
                r.steps
            )
        }),
        TenantStatus::Done => Some(format!(
            "  {}: {} -> {} ({} revision(s), {} ms)",
            r.database,
            label(&r.from),
            label(&r.to),
            r.steps,
            r.duration_ms
        )),
        TenantStatus::Unchanged => None,
    }
}

fn print_summary(
    ctx: &Ctx,
    s: &FleetSummary,
    reading: bool,
    at: &BTreeMap<String, usize>,
    heads: &[String],
    drift: bool,
) {
    if ctx.out.json() {
        let doc = serde_json::json!({ "summary": s, "at": at, "heads": heads });
        if let Ok(line) = serde_json::to_string(&doc) {
            ctx.out.data(line);
        }
        return;
    }
    if reading {
        for (rev, n) in at {
            let mark = if *rev == label(heads) { " (head)" } else { "" };
            ctx.out.data(format!("{n:>8}  {rev}{mark}"));
        }
    }
    let mut line = if drift {
        format!(
            "{} tenant(s): {} drifted, {} match, {} failed",
            s.listed, s.done, s.unchanged, s.failed
        )
    } else if reading {
        format!(
            "{} tenant(s): {} at head, {} behind, {} failed",
            s.listed, s.unchanged, s.done, s.failed
        )
    } else {
        format!(
            "{} tenant(s): {} changed, {} already there, {} failed",
            s.listed, s.done, s.unchanged, s.failed
        )
    };
    if s.not_started > 0 {
        line.push_str(&format!(", {} not started", s.not_started));
    }
    line.push_str(&format!(" ({:.1} s).", s.duration_ms as f64 / 1000.0));
    ctx.out.status(line);
    if strata::interrupt::requested() {
        ctx.out.status("Interrupted: revisions in flight were rolled back; run the same command again to finish the rest.");
    } else if s.stopped && s.not_started > 0 {
        ctx.out.status("Stopped after a failure: fix it, then run the same command again (tenants already done cost a read), or add --keep-going.");
    }
}
