//! `askdesk sync`: sync the brands' website sources, re-index what changed and record it; or
//! preview (`--dry-run`), optionally with the answers of an eval suite before and after
//! (`--eval`).

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::InputError;
use crate::config::ServiceConfig;
use crate::engine::{self, EngineOptions};
use crate::eval::{self, Report};
use crate::sync::{SyncError, SyncOptions, SyncReport};

/// The flags of `askdesk sync`.
pub struct SyncArgs {
    pub tenant: Option<String>,
    pub dry_run: bool,
    pub force: bool,
    pub eval: Option<PathBuf>,
    pub json: bool,
}

/// Exit status 0; an error when a sync was refused (it would remove too many pages).
pub fn sync(config: &ServiceConfig, args: SyncArgs) -> anyhow::Result<()> {
    if let Some(suite) = &args.eval {
        return preview_with_eval(config, &args, suite);
    }
    let tenants = tenants(config, args.tenant.clone())?;
    let options = SyncOptions {
        dry_run: args.dry_run,
        force: args.force,
        progress: !args.json,
        ..SyncOptions::default()
    };
    let mut reports = Vec::new();
    crate::cli::runtime()?.block_on(async {
        let store = match args.dry_run {
            true => None,
            false => Some(crate::store::open(config.database_url().expose()).await?),
        };
        for tenant in &tenants {
            let started_at = crate::store::now_ms();
            let report = crate::sync::sync_tenant(&config.knowledge, tenant, options)
                .await
                .map_err(input_or_not)?;
            if report.applied {
                let options = EngineOptions::for_service(config, !args.json);
                let only = [tenant.clone()];
                tokio::task::spawn_blocking(move || engine::open_reporting(&options, Some(&only)))
                    .await??;
            }
            if let Some(store) = &store {
                if report.applied {
                    // a running service (and its replicas) re-index from the folder
                    store.announce_reindex(tenant, "askdesk sync").await?;
                }
                store.record_sync(&report.record(started_at)).await?;
            }
            if !args.json {
                print_report(&report, args.dry_run);
            }
            reports.push(report);
        }
        anyhow::Ok(())
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    refused(&reports)
}

/// The tenants to sync: the one asked for, or every tenant with sources.
fn tenants(config: &ServiceConfig, only: Option<String>) -> anyhow::Result<Vec<String>> {
    let tenants = match only {
        Some(id) => vec![id],
        None => crate::sync::tenants_with_sources(&config.knowledge)
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
    };
    if tenants.is_empty() {
        return Err(InputError(format!(
            "no tenant in {} has [[sources]] in its tenant.toml",
            config.knowledge.display()
        ))
        .into());
    }
    Ok(tenants)
}

/// A sync error the user can act on (unknown tenant, no sources, another sync running) is
/// input; one writing the folder is not.
fn input_or_not(error: SyncError) -> anyhow::Error {
    match error {
        SyncError::Write(..) => anyhow::Error::new(error),
        other => InputError(other.to_string()).into(),
    }
}

fn refused(reports: &[SyncReport]) -> anyhow::Result<()> {
    match reports.iter().find_map(|r| r.refused.as_ref()) {
        Some(why) => anyhow::bail!("sync refused: {why}"),
        None => Ok(()),
    }
}

/// One answer of the suite that the sync would change.
#[derive(Debug, Serialize)]
struct ChangedAnswer {
    id: String,
    question: String,
    before: String,
    after: String,
    passed_before: bool,
    passed_after: bool,
}

#[derive(Serialize)]
struct Preview<'a> {
    syncs: &'a [SyncReport],
    answers_changed: &'a [ChangedAnswer],
}

/// Syncs a copy of the suite's tenant folder, answers the suite on the knowledge as it is and
/// on the copy, and shows what the sync would change in the folder and in the answers. Nothing
/// of the real folder, the data folder's indexes or the store is changed.
fn preview_with_eval(config: &ServiceConfig, args: &SyncArgs, suite: &Path) -> anyhow::Result<()> {
    let suites =
        eval::load_suites(&[suite.to_path_buf()]).map_err(|e| InputError(e.to_string()))?;
    let tenant = suites[0].tenant.clone();
    if args.tenant.as_ref().is_some_and(|t| *t != tenant) {
        return Err(InputError(format!(
            "{}: a suite of tenant {tenant:?}, not {:?}",
            suite.display(),
            args.tenant.as_deref().unwrap_or("")
        ))
        .into());
    }
    let copy = Scratch::new(
        config
            .data
            .join(format!("sync-preview-{}", std::process::id())),
    )?;
    copy_folder(&config.knowledge.join(&tenant), &copy.path().join(&tenant))
        .map_err(|e| InputError(format!("{}: {e}", config.knowledge.join(&tenant).display())))?;
    let options = SyncOptions {
        force: args.force,
        progress: !args.json,
        ..SyncOptions::default()
    };
    let runtime = crate::cli::runtime()?;
    let mut report = runtime
        .block_on(crate::sync::sync_tenant(copy.path(), &tenant, options))
        .map_err(input_or_not)?;
    report.applied = false;
    let before = answer_suite(config, &config.knowledge, &suites, &runtime)?;
    let after = answer_suite(config, copy.path(), &suites, &runtime)?;
    let changed = changed_answers(&before, &after);
    if args.json {
        let reports = [report];
        println!(
            "{}",
            serde_json::to_string_pretty(&Preview {
                syncs: &reports,
                answers_changed: &changed
            })?
        );
        return refused(&reports);
    }
    print_report(&report, true);
    println!(
        "{}: pass rate {:.3} now, {:.3} after the sync; {} of {} answers change",
        suite.display(),
        before.summary.pass_rate,
        after.summary.pass_rate,
        changed.len(),
        before.cases.len()
    );
    for c in &changed {
        let mark = |passed: bool| if passed { "pass" } else { "FAIL" };
        println!(
            "\n{} ({} → {}): {}",
            c.id,
            mark(c.passed_before),
            mark(c.passed_after),
            c.question
        );
        println!("  now:   {}", one_line(&c.before));
        println!("  after: {}", one_line(&c.after));
    }
    refused(&[report])
}

/// The suite's report on the knowledge folder `knowledge` (indexes in memory, the data folder's
/// embedding cache reused).
fn answer_suite(
    config: &ServiceConfig,
    knowledge: &Path,
    suites: &[eval::Suite],
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Report> {
    let mut options = EngineOptions::new(knowledge, Some(config.data.clone()));
    options.indexes_in_memory = true;
    let only = [suites[0].tenant.clone()];
    let engine = engine::open_reporting(&options, Some(&only))?;
    let pipeline: Arc<dyn eval::Answerer> = Arc::new(engine.pipeline());
    let bar = crate::progress::Progress::new(false, 0, "", "eval", "cases");
    let results = runtime.block_on(eval::run_suites(pipeline, None, suites, 2, &bar))?;
    Ok(eval::build_report(results))
}

fn changed_answers(before: &Report, after: &Report) -> Vec<ChangedAnswer> {
    before
        .cases
        .iter()
        .zip(&after.cases)
        .filter(|(b, a)| b.answer != a.answer || b.passed != a.passed)
        .map(|(b, a)| ChangedAnswer {
            id: b.id.clone(),
            question: b.question.clone(),
            before: b.answer.clone(),
            after: a.answer.clone(),
            passed_before: b.passed,
            passed_after: a.passed,
        })
        .collect()
}

fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

/// A folder of this process's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(path: PathBuf) -> std::io::Result<Self> {
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a tenant folder (files and folders; links and the sync lock left out).
fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else if kind.is_file() && entry.file_name() != ".lock" {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn print_report(report: &SyncReport, dry_run: bool) {
    let verb = if dry_run { "would be " } else { "" };
    for (label, urls) in [
        ("added", &report.added),
        ("changed", &report.changed),
        ("removed", &report.removed),
    ] {
        for url in urls {
            println!("  {verb}{label}: {url}");
        }
    }
    for error in &report.errors {
        eprintln!("warning: {}", error.message);
    }
    let state = match (&report.refused, report.applied, dry_run) {
        (Some(_), _, _) => "refused, nothing changed",
        (None, _, true) => "dry run, nothing changed",
        (None, true, false) => "applied and re-indexed",
        (None, false, false) => "up to date",
    };
    println!(
        "{}: {} pages; {} added, {} changed, {} removed, {} unchanged, {} errors; {state} in {:.1}s",
        report.tenant,
        report.pages,
        report.added.len(),
        report.changed.len(),
        report.removed.len(),
        report.unchanged,
        report.errors.len(),
        report.seconds
    );
}
