//! `askdesk eval`: load suites (all checked before anything runs), answer every case in-process
//! or through a running server (`--url`), optionally have an LLM judge the answers (`--judge`),
//! report, compare with a baseline, and turn the result into an exit status for CI gates.

use std::path::Path;
use std::sync::Arc;

use crate::cli::{AnswerMode, DraftArgs, EvalArgs, InputError};
use crate::engine;
use crate::eval::{self, Answerer, Comparison, Judge, Remote, Report, Suite};

/// Exit status: 0 passed the gate, 1 below `--min-pass-rate` or a regression.
pub fn eval(args: EvalArgs) -> anyhow::Result<u8> {
    let suites = eval::load_suites(&args.suites).map_err(|e| InputError(e.to_string()))?;
    if let Some(rate) = args.min_pass_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err(InputError("--min-pass-rate must be between 0 and 1".into()).into());
        }
    }
    let config = args.folders.load()?;
    let baseline: Option<Report> =
        match &args.baseline {
            Some(path) => {
                let raw = std::fs::read_to_string(path)
                    .map_err(|e| InputError(format!("{}: {e}", path.display())))?;
                Some(serde_json::from_str(&raw).map_err(|e| {
                    InputError(format!("{}: not an eval report: {e}", path.display()))
                })?)
            }
            None => None,
        };
    let judge = if args.judge {
        let judge = Judge::from_settings(&config.llm, Path::new("prompts"))?.ok_or_else(|| {
            InputError(
                "--judge needs an LLM: set llm.base_url (OPENAI_BASE_URL), and OPENAI_API_KEY, ASKDESK_LLM_MODEL as needed"
                    .into(),
            )
        })?;
        Some(Arc::new(judge))
    } else {
        None
    };
    let answerer: Arc<dyn Answerer> = match &args.url {
        Some(url) => Arc::new(remote(&args, url)?),
        None => in_process(&args, &config, &suites)?,
    };

    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let bar = crate::progress::Progress::new(
        true,
        total as u64,
        "eval {bar:30} {pos}/{len} cases",
        "eval",
        "cases",
    );
    let runtime = crate::cli::runtime()?;
    let results = runtime.block_on(eval::run_suites(
        answerer,
        judge,
        &suites,
        args.concurrency,
        &bar,
    ));
    bar.finish();
    // A run against a server stops only when the server cannot be used at all (unreachable,
    // key refused): unusable input, like a bad suite.
    let results = match (&args.url, results) {
        (Some(_), Err(e)) => return Err(InputError(format!("{e:#}")).into()),
        (_, results) => results?,
    };
    let report = eval::build_report(results);
    let comparison = baseline.as_ref().map(|b| Comparison::between(b, &report));

    eval::print_terminal_report(&report, comparison.as_ref());
    let write = |path: &Path, content: &[u8]| {
        std::fs::write(path, content).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    if let Some(path) = &args.json {
        write(path, &serde_json::to_vec_pretty(&report)?)?;
    }
    if let Some(path) = &args.markdown {
        write(
            path,
            eval::markdown_report(&report, comparison.as_ref()).as_bytes(),
        )?;
    }
    if let Some(path) = &args.html {
        write(
            path,
            eval::html_report(&report, comparison.as_ref()).as_bytes(),
        )?;
    }
    Ok(gate_status(
        &report,
        comparison.as_ref(),
        args.min_pass_rate,
    ))
}

/// The answer pipeline in this process, on the suites' tenants from `--knowledge`.
fn in_process(
    args: &EvalArgs,
    config: &crate::config::ServiceConfig,
    suites: &[Suite],
) -> anyhow::Result<Arc<dyn Answerer>> {
    let generator = match args.mode {
        AnswerMode::Llm => Some(
            engine::generator(&config.llm, Path::new("prompts"))?.ok_or_else(|| {
                InputError("--mode llm needs llm.base_url (OPENAI_BASE_URL) set".into())
            })?,
        ),
        AnswerMode::Extractive => None,
    };
    let mut tenants: Vec<String> = suites.iter().map(|s| s.tenant.clone()).collect();
    tenants.sort();
    tenants.dedup();
    for suite in suites {
        if !config.knowledge.join(&suite.tenant).is_dir() {
            return Err(InputError(format!(
                "{}: unknown tenant {:?} (no folder in {})",
                suite.path.display(),
                suite.tenant,
                config.knowledge.display()
            ))
            .into());
        }
    }
    let quiet = args.json.is_some() && args.markdown.is_none();
    let options = engine::EngineOptions::for_service(config, !quiet);
    let engine = engine::open_reporting(&options, Some(&tenants))?;
    let mut pipeline = engine.pipeline();
    if let Some(generator) = generator {
        pipeline = pipeline.with_generator(generator);
    }
    Ok(Arc::new(pipeline))
}

/// The server at `--url`; it answers in its own mode from its own knowledge.
fn remote(args: &EvalArgs, url: &str) -> Result<Remote, InputError> {
    if args.mode != AnswerMode::Extractive {
        return Err(InputError(
            "--mode applies to in-process runs; with --url the server answers in its own mode"
                .into(),
        ));
    }
    let key = args
        .api_key
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            InputError(
                "--url needs the server's API key: pass --api-key or set ASKDESK_API_KEY".into(),
            )
        })?;
    Remote::new(url, key).map_err(InputError)
}

/// 1 when the pass rate is below the minimum or a case regressed; 0 otherwise.
pub fn gate_status(
    report: &Report,
    comparison: Option<&Comparison>,
    min_pass_rate: Option<f64>,
) -> u8 {
    let below = min_pass_rate.is_some_and(|min| report.summary.pass_rate < min);
    let regressed = comparison.is_some_and(|c| !c.regressions.is_empty());
    if below || regressed {
        1
    } else {
        0
    }
}

/// `askdesk eval draft`: writes draft suites from the store (see [`eval::draft`]). A file that
/// exists is never overwritten: it may hold a lead's decisions.
pub fn draft(args: DraftArgs) -> anyhow::Result<u8> {
    let since = eval::draft::parse_date(&args.since).map_err(InputError)?;
    let config = args.folders.load()?;
    let default_file = config.default_store_file();
    if config.database_url.is_none() && !default_file.is_file() {
        let shown = default_file.display();
        return Err(InputError(format!("no store at {shown} (see --data)")).into());
    }
    let cases = crate::cli::runtime()?.block_on(async {
        let store = crate::store::open(config.database_url().expose()).await?;
        eval::draft::collect(store.as_ref(), since, args.tenant.as_deref()).await
    })?;
    if args.out.is_some() && cases.len() > 1 {
        return Err(InputError("--out writes one tenant's draft: add --tenant".into()).into());
    }
    if cases.is_empty() {
        println!(
            "no thumbs-down or low-confidence questions since {}",
            args.since
        );
    }
    for (tenant, cases) in &cases {
        let path = match &args.out {
            Some(out) => out.clone(),
            None => args.dir.join(format!("{tenant}.yaml")),
        };
        if path.exists() {
            return Err(
                InputError(format!("{} exists: move it away first", path.display())).into(),
            );
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, eval::draft::render(tenant, &args.since, cases))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        println!("{}: {} case(s) for {tenant}", path.display(), cases.len());
    }
    Ok(0)
}
