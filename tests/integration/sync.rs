//! Website sync against a real help-center site on loopback (`site.rs`): the dev help center's
//! pages behind a sitemap and robots.txt, pages that misbehave, changes and removals between
//! syncs, the site going down; the admin API and the schedule in the service; the CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use askdesk::index::{IndexSettings, Indexer};
use askdesk::knowledge::{load_tenant, ChunkOptions, Passage};
use askdesk::sync::{sync_tenant, FetchLimits, SyncOptions, SyncReport};

use crate::helpers::{repo_root, write_files};
use crate::site::{help_center, page_html, sitemap, Route, TestSite};

fn devdesk_pages() -> PathBuf {
    repo_root().join("../shared/data/devdesk/knowledge/huggingface")
}

/// Pages that misbehave, each listed in the sitemap; the value says how the sync must take it.
fn misbehaving(site: &TestSite) -> Vec<(&'static str, Route, Expect)> {
    let page = |title: &str, body: &str| Route::Page(page_html(title, &site.url("/x"), body, &[]));
    let latin1 = b"<html><head><title>Caf\xe9</title></head><body><main><p>The caf\xe9 \
                   cr\xe8me plan costs 4 euros.</p></main></body></html>"
        .to_vec();
    let nested = format!(
        "<html><body><main>{}Nested plan details.{}</main></body></html>",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    vec![
        ("/docs/hub/missing", Route::Status(404), Expect::Absent),
        (
            "/docs/hub/broken",
            Route::Status(500),
            Expect::Error("HTTP 500"),
        ),
        (
            "/docs/hub/slow",
            Route::Slow(Duration::from_secs(5), "<p>late</p>".into()),
            Expect::Error("timed out"),
        ),
        (
            "/docs/hub/huge",
            Route::Huge(50 * 1024 * 1024),
            Expect::Error("larger than"),
        ),
        (
            "/docs/hub/binary",
            Route::Raw("text/html", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0".to_vec()),
            Expect::Error("binary"),
        ),
        (
            "/docs/hub/loop-a",
            Route::Redirect("/docs/hub/loop-b".into()),
            Expect::Error("redirect"),
        ),
        (
            "/docs/hub/loop-b",
            Route::Redirect("/docs/hub/loop-a".into()),
            Expect::Error("redirect"),
        ),
        (
            "/docs/hub/away",
            Route::Redirect("http://elsewhere.invalid/x".into()),
            Expect::Error("off the site"),
        ),
        (
            "/docs/hub/moved",
            Route::Redirect("/docs/hub/moved-here".into()),
            Expect::Kept,
        ),
        (
            "/docs/hub/moved-here-target-only",
            page("Unlisted", "<p>x</p>"),
            Expect::Unlisted,
        ),
        (
            "/docs/hub/empty",
            Route::Page("<html><body><nav>Only a menu</nav></body></html>".into()),
            Expect::Error("no text"),
        ),
        (
            "/docs/hub/latin1",
            Route::Raw("text/html; charset=iso-8859-1", latin1),
            Expect::Kept,
        ),
        (
            "/docs/hub/invalid",
            Route::Page("<p>Unclosed <b>bold <table><tr><td>Plan cell</p></div></span>".into()),
            Expect::Kept,
        ),
        (
            "/docs/hub/nested",
            Route::Page(nested),
            Expect::Error("deep, over the 1000"),
        ),
        (
            "/docs/hub/mislabelled",
            Route::Raw(
                "text/html; charset=utf-8",
                b"<main><p>Mislabelled caf\xe9 page about seats.</p></main>".to_vec(),
            ),
            Expect::Kept,
        ),
        (
            "/docs/hub/unknown-charset",
            Route::Raw(
                "text/html; charset=x-made-up",
                b"<main><p>A page in a charset nobody knows, about seats.</p></main>".to_vec(),
            ),
            Expect::Kept,
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Synced.
    Kept,
    /// Not synced, not an error (404).
    Absent,
    /// Not synced; an error naming the page and saying this.
    Error(&'static str),
    /// Not in the sitemap.
    Unlisted,
}

/// The whole dev help center.
const ALL_PAGES: usize = usize::MAX;

/// The test site: the dev help center (its first `pages`) plus the misbehaving pages, all in
/// the sitemap (and the disallowed page too). Returns the site and the dev pages' paths.
fn test_site(pages: usize) -> (TestSite, Vec<String>) {
    let site = TestSite::start(BTreeMap::new());
    let (routes, paths) = help_center(&site.base, &devdesk_pages(), pages);
    for (path, route) in routes {
        site.set(&path, route);
    }
    site.set(
        "/docs/hub/moved-here",
        Route::Page(page_html(
            "Moved page",
            &site.url("/docs/hub/moved-here"),
            "<h2>Where it went</h2><p>The moved page now lives here.</p>",
            &[],
        )),
    );
    let mut listed = paths.clone();
    listed.push("/internal/admin-notes".into());
    for (path, route, expect) in misbehaving(&site) {
        site.set(path, route);
        // loop-b is reached only through loop-a's redirect
        if expect != Expect::Unlisted && path != "/docs/hub/loop-b" {
            listed.push(path.to_string());
        }
    }
    site.set("/sitemap.xml", sitemap(&site.base, &listed));
    (site, paths)
}

fn knowledge_with_source(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let toml =
        format!("name = \"Hub\"\nsupport_email = \"support@hub.test\"\n\n[[sources]]\n{source}\n");
    write_files(dir.path(), &[("hub/tenant.toml", &toml)]);
    dir
}

fn sitemap_source(site: &TestSite) -> String {
    format!(
        "kind = \"sitemap\"\nurl = \"{}\"\ndelay_ms = 0\nconcurrency = 4",
        site.url("/sitemap.xml")
    )
}

fn options() -> SyncOptions {
    SyncOptions {
        limits: FetchLimits {
            max_bytes: 8 * 1024 * 1024,
            timeout: Duration::from_secs(2),
        },
        ..SyncOptions::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sync(knowledge: &Path, options: SyncOptions) -> SyncReport {
    runtime()
        .block_on(sync_tenant(knowledge, "hub", options))
        .unwrap()
}

fn passages(knowledge: &Path, tenant: &str) -> Vec<Passage> {
    let (tenant, warnings) = load_tenant(knowledge, tenant, ChunkOptions::default()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    tenant.passages
}

/// A passage as a reader sees it: where it is, what it says, where it links.
fn seen(p: &Passage) -> (Vec<String>, String, Option<String>) {
    (p.heading_path.clone(), p.text.clone(), p.url.clone())
}

#[test]
fn a_sync_of_a_help_center_yields_the_passages_of_its_pages_as_files() {
    let (site, paths) = test_site(ALL_PAGES);
    let knowledge = knowledge_with_source(&sitemap_source(&site));
    let report = sync(knowledge.path(), options());
    assert!(report.applied && report.refused.is_none(), "{report:#?}");

    let expected_kept: Vec<String> = paths
        .iter()
        .map(|p| site.url(p))
        .chain(
            misbehaving(&site)
                .into_iter()
                .filter(|(_, _, e)| *e == Expect::Kept)
                .map(|(p, _, _)| site.url(p)),
        )
        .collect();
    let added: BTreeSet<&String> = report.added.iter().collect();
    assert_eq!(added, expected_kept.iter().collect(), "{report:#?}");
    assert_eq!(report.pages, expected_kept.len());
    for (path, _, expect) in misbehaving(&site) {
        let url = site.url(path);
        let errors: Vec<&str> = report
            .errors
            .iter()
            .filter(|e| e.url == url)
            .map(|e| e.message.as_str())
            .collect();
        match expect {
            Expect::Error(says) if path != "/docs/hub/loop-b" => {
                assert!(
                    errors.len() == 1 && errors[0].contains(&url) && errors[0].contains(says),
                    "{path}: {errors:?}"
                );
            }
            _ => assert!(errors.is_empty(), "{path}: {errors:?}"),
        }
    }
    assert_eq!(
        site.requests("/internal/admin-notes"),
        0,
        "robots.txt disallows it"
    );
    assert_eq!(site.requests("/docs/hub/moved-here-target-only"), 0);

    // The same pages as files of a knowledge folder give the same passages.
    let files = tempfile::tempdir().unwrap();
    write_files(
        files.path(),
        &[(
            "files/tenant.toml",
            "name = \"Hub\"\nsupport_email = \"support@hub.test\"\n",
        )],
    );
    for path in &paths {
        let Some(Route::Page(html)) = site.route(path) else {
            panic!("{path} is a page")
        };
        let file = format!("files{path}.html");
        write_files(files.path(), &[(&file, &html)]);
    }
    let from_files: BTreeSet<_> = passages(files.path(), "files").iter().map(seen).collect();
    let synced = passages(knowledge.path(), "hub");
    let page_urls: BTreeSet<String> = paths.iter().map(|p| site.url(p)).collect();
    let from_site: BTreeSet<_> = synced
        .iter()
        .filter(|p| p.url.as_ref().is_some_and(|u| page_urls.contains(u)))
        .map(seen)
        .collect();
    assert!(from_files.len() > 300, "{} passages", from_files.len());
    assert_eq!(from_site, from_files);
    // the site's furniture never reaches a passage
    for p in &synced {
        for furniture in ["We use cookies", "© Example Docs", "Help center home"] {
            assert!(!p.text.contains(furniture), "{}: {}", p.id, p.text);
        }
    }
    let latin1 = synced
        .iter()
        .find(|p| p.text.contains("café crème"))
        .expect("the latin-1 page");
    assert!(latin1.text.contains("4 euros"), "{}", latin1.text);
    assert!(synced.iter().any(|p| p.text.contains("Plan cell")));
    // a wrong charset label costs the odd letter, not the page
    assert!(synced
        .iter()
        .any(|p| p.text.contains("Mislabelled caf\u{fffd} page")));
    assert!(synced
        .iter()
        .any(|p| p.text.contains("charset nobody knows")));
}

/// The texts an index embeds for `passages` (see `Passage::texts_for_embedding`).
fn texts_to_embed(passages: &[&Passage]) -> usize {
    passages
        .iter()
        .map(|p| 2 + p.sentences_for_embedding("Hub").len())
        .sum()
}

#[test]
fn a_second_sync_asks_conditionally_and_reembeds_only_the_changed_pages() {
    let (site, paths) = test_site(12);
    let knowledge = knowledge_with_source(&sitemap_source(&site));
    let data = tempfile::tempdir().unwrap();
    let index = |knowledge: &Path| {
        let (tenant, _) = load_tenant(knowledge, "hub", ChunkOptions::default()).unwrap();
        let mut indexer = Indexer::new(
            Some(data.path().to_path_buf()),
            crate::helpers::embedder(),
            IndexSettings::default(),
        );
        indexer.index(tenant).unwrap().1
    };
    sync(knowledge.path(), options());
    let first = index(knowledge.path());
    assert!(first.embedded > 100, "{first:?}");

    // two pages change, one disappears (from the site and its sitemap)
    let changed = [&paths[3], &paths[8]];
    for path in changed {
        let Some(Route::Page(html)) = site.route(path) else {
            panic!()
        };
        let html = html.replace(
            "</article>",
            "<h2>New section</h2><p>A sentence added today about quotas.</p></article>",
        );
        site.set(path, Route::Page(html));
    }
    let gone = &paths[10];
    site.remove(gone);
    let before_304 = site.not_modified();
    let second = sync(knowledge.path(), options());
    assert_eq!(
        second.changed.iter().collect::<BTreeSet<_>>(),
        changed
            .iter()
            .map(|p| site.url(p))
            .collect::<BTreeSet<_>>()
            .iter()
            .collect(),
        "{second:#?}"
    );
    assert_eq!(second.removed, [site.url(gone)]);
    assert!(second.added.is_empty(), "{second:#?}");
    assert!(
        site.not_modified() - before_304 >= paths.len() - 3,
        "unchanged pages answer 304 to the conditional request"
    );
    assert!(!knowledge
        .path()
        .join("hub/synced")
        .join(askdesk::sync::file_for(
            &url::Url::parse(&site.url(gone)).unwrap()
        ))
        .exists());

    let reindexed = index(knowledge.path());
    let synced = passages(knowledge.path(), "hub");
    let changed_urls: Vec<String> = changed.iter().map(|p| site.url(p)).collect();
    let of_changed: Vec<&Passage> = synced
        .iter()
        .filter(|p| p.url.as_ref().is_some_and(|u| changed_urls.contains(u)))
        .collect();
    assert!(reindexed.embedded > 0, "{reindexed:?}");
    assert!(
        reindexed.embedded <= texts_to_embed(&of_changed),
        "{} texts embedded; the changed pages have {}",
        reindexed.embedded,
        texts_to_embed(&of_changed)
    );
}

#[test]
fn a_sync_while_the_site_is_down_keeps_every_page_and_says_so() {
    let (mut site, _) = test_site(ALL_PAGES);
    let knowledge = knowledge_with_source(&sitemap_source(&site));
    sync(knowledge.path(), options());
    let before = passages(knowledge.path(), "hub");
    site.stop();
    let report = sync(knowledge.path(), options());
    assert!(!report.applied, "{report:#?}");
    assert_eq!(
        report.pages,
        before
            .iter()
            .filter_map(|p| p.url.clone())
            .collect::<BTreeSet<_>>()
            .len()
    );
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert!(
        report.errors[0].message.contains("robots.txt"),
        "{}",
        report.errors[0].message
    );
    assert!(report.removed.is_empty() && report.changed.is_empty());
    assert_eq!(passages(knowledge.path(), "hub"), before);
}

#[test]
fn a_sync_that_would_remove_too_many_pages_changes_nothing_unless_forced() {
    let (site, paths) = test_site(ALL_PAGES);
    let knowledge = knowledge_with_source(&sitemap_source(&site));
    let first = sync(knowledge.path(), options());
    let before = passages(knowledge.path(), "hub");
    // the site now lists a fifth of its pages
    site.set(
        "/sitemap.xml",
        sitemap(&site.base, &paths[..paths.len() / 5]),
    );
    let refused = sync(knowledge.path(), options());
    let why = refused.refused.as_deref().expect("refused");
    assert!(
        why.contains("max_removed_share") && why.contains("nothing was changed"),
        "{why}"
    );
    assert!(!refused.applied);
    assert_eq!(refused.pages, first.pages);
    assert_eq!(passages(knowledge.path(), "hub"), before);

    let forced = sync(
        knowledge.path(),
        SyncOptions {
            force: true,
            ..options()
        },
    );
    assert!(forced.applied && forced.refused.is_none());
    assert_eq!(forced.pages, paths.len() / 5);
    assert_eq!(forced.removed.len(), first.pages - paths.len() / 5);
}

#[test]
fn a_crawl_follows_links_on_the_site_within_its_patterns_and_page_limit() {
    let (site, _) = test_site(ALL_PAGES);
    let source = format!(
        "kind = \"crawl\"\nurl = \"{}\"\ninclude = [\"/docs/hub/\"]\nexclude = [\"/docs/hub/security*\", \"/docs/hub/moved*\"]\nmax_pages = 12\ndelay_ms = 0\nconcurrency = 4",
        site.url("/docs/hub/billing")
    );
    let knowledge = knowledge_with_source(&source);
    let first = sync(knowledge.path(), options());
    assert_eq!(first.pages, 12, "{first:#?}");
    for url in &first.added {
        let path = url.strip_prefix(&site.base).unwrap();
        assert!(
            path.starts_with("/docs/hub/") && !path.starts_with("/docs/hub/security"),
            "{url}"
        );
    }
    assert!(first.added.contains(&site.url("/docs/hub/billing")));
    assert_eq!(site.requests("/internal/admin-notes"), 0);
    assert_eq!(site.requests("/privacy"), 0, "outside the include patterns");
    // nothing changed: every page answers 304 and still leads to the same pages
    let second = sync(knowledge.path(), options());
    assert_eq!((second.pages, second.changes()), (12, 0), "{second:#?}");
    assert_eq!(second.unchanged, 12);
}

fn admin(app: &crate::app::App, method: &str, path: &str) -> (u16, serde_json::Value) {
    let bearer = format!("Bearer {}", crate::app::ADMIN_KEY);
    let reply = app.request(method, path, &[("authorization", bearer.as_str())], None);
    (reply.status, reply.body)
}

fn admin_post(
    app: &crate::app::App,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let bearer = format!("Bearer {}", crate::app::ADMIN_KEY);
    let reply = app.request(
        "POST",
        path,
        &[("authorization", bearer.as_str())],
        Some(body),
    );
    (reply.status, reply.body)
}

#[test]
fn the_service_syncs_on_its_schedule_and_on_demand_and_answers_from_the_site() {
    let site = TestSite::start(BTreeMap::new());
    let page = |title: &str, body: &str, path: &str| {
        Route::Page(page_html(
            title,
            &site.url(path),
            body,
            &["/docs/plans".to_string()],
        ))
    };
    site.set(
        "/docs/plans",
        page(
            "Plans",
            "<h1>Plans</h1><h2>How much does the Team plan cost?</h2>\
             <p>The Team plan costs 20 dollars per seat per month, billed monthly.</p>",
            "/docs/plans",
        ),
    );
    site.set(
        "/sitemap.xml",
        sitemap(&site.base, &["/docs/plans".to_string()]),
    );
    let source = format!("{}\nevery = \"1d\"", sitemap_source(&site));
    let knowledge = knowledge_with_source(&source);
    let app = crate::app::spawn_app_on(knowledge.path());

    // at start-up nothing was synced yet, so the schedule syncs now
    let mut recorded = serde_json::Value::Null;
    for _ in 0..200 {
        let (status, body) = admin(&app, "GET", "/api/admin/syncs?tenant=hub");
        assert_eq!(status, 200, "{body}");
        recorded = body;
        if recorded["syncs"].as_array().is_some_and(|s| !s.is_empty()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = &recorded["syncs"][0];
    assert_eq!(first["outcome"], "applied", "{recorded}");
    assert_eq!(first["added"], 1);

    // the re-indexed tenant answers from the page, citing its address
    let (status, reply) = app.post(
        "/api/v1/chat",
        &serde_json::json!({"tenant": "hub", "message": "What does the Team plan cost?"}),
    );
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply["answer"].as_str().unwrap().contains("20 dollars"),
        "{reply}"
    );
    assert_eq!(
        reply["citations"][0]["url"],
        site.url("/docs/plans"),
        "{reply}"
    );

    // on demand: a change is picked up, recorded and re-indexed
    site.set(
        "/docs/plans",
        page(
            "Plans",
            "<h1>Plans</h1><h2>How much does the Team plan cost?</h2>\
             <p>The Team plan costs 25 dollars per seat per month, billed monthly.</p>",
            "/docs/plans",
        ),
    );
    let (status, dry) = admin_post(
        &app,
        "/api/admin/syncs",
        &serde_json::json!({"tenant": "hub", "dry_run": true}),
    );
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (
            dry["changed"].as_array().unwrap().len(),
            dry["applied"].as_bool()
        ),
        (1, Some(false)),
        "{dry}"
    );
    let (status, applied) = admin_post(
        &app,
        "/api/admin/syncs",
        &serde_json::json!({"tenant": "hub"}),
    );
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["applied"], true, "{applied}");
    let (_, reply) = app.post(
        "/api/v1/chat",
        &serde_json::json!({"tenant": "hub", "message": "What does the Team plan cost?"}),
    );
    assert!(
        reply["answer"].as_str().unwrap().contains("25 dollars"),
        "{reply}"
    );
    let (_, listed) = admin(&app, "GET", "/api/admin/syncs?tenant=hub");
    assert_eq!(
        listed["syncs"].as_array().unwrap().len(),
        2,
        "{listed} (the dry run is not recorded)"
    );

    // bad requests get clear errors
    for (body, status) in [
        (serde_json::json!({"tenant": "ghost"}), 404),
        (serde_json::json!({"tenant": "../x"}), 422),
        (serde_json::json!({"tenant": "hub", "extra": 1}), 422),
    ] {
        let (got, reply) = admin_post(&app, "/api/admin/syncs", &body);
        assert_eq!(got, status, "{body}: {reply}");
    }
    let (got, _) = app.post("/api/admin/syncs", &serde_json::json!({"tenant": "hub"}));
    assert_eq!(got, 401, "the admin key is required");
}

#[test]
fn the_cli_previews_a_sync_without_changing_anything_then_applies_it() {
    let (site, paths) = test_site(4);
    let knowledge = knowledge_with_source(&sitemap_source(&site));
    let data = tempfile::tempdir().unwrap();
    let k = knowledge.path().to_str().unwrap();
    let d = data.path().to_str().unwrap();
    let (code, stdout, stderr) =
        crate::cli::askdesk(&["sync", "--dry-run", "--knowledge", k, "--data", d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("would be added: {}", site.url(&paths[0]))),
        "{stdout}"
    );
    assert!(stdout.contains("dry run, nothing changed"), "{stdout}");
    assert!(stderr.contains("HTTP 500"), "{stderr}");
    assert!(!knowledge.path().join("hub/synced").exists());

    let (code, stdout, stderr) = crate::cli::askdesk(&["sync", "--knowledge", k, "--data", d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("applied and re-indexed"), "{stdout}");
    let (code, stdout, _) = crate::cli::askdesk(&["sync", "--knowledge", k, "--data", d]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("0 added, 0 changed, 0 removed") && stdout.contains("up to date"),
        "{stdout}"
    );

    // a preview with an eval suite: the answers before and after a change on the site
    let academia = paths.iter().find(|p| p.ends_with("/academia-hub")).unwrap();
    let Some(Route::Page(html)) = site.route(academia) else {
        panic!()
    };
    site.set(
        academia,
        Route::Page(html.replace("Starting at $10/seat/month", "Starting at $12/seat/month")),
    );
    let suite = data.path().join("hub.yaml");
    std::fs::write(
        &suite,
        "tenant: hub\ncases:\n  - id: seat-price\n    question: \"What is the price per seat of Academia Hub?\"\n    expect: {outcome: answer, facts: [\"$10/seat\"]}\n",
    )
    .unwrap();
    let synced_before =
        std::fs::read_to_string(knowledge.path().join("hub/synced/manifest.json")).unwrap();
    let (code, stdout, stderr) = crate::cli::askdesk(&[
        "sync",
        "--eval",
        suite.to_str().unwrap(),
        "--knowledge",
        k,
        "--data",
        d,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("would be changed: {}", site.url(academia))),
        "{stdout}"
    );
    assert!(
        stdout.contains("pass rate 1.000 now, 0.000 after the sync; 1 of 1 answers change"),
        "{stdout}"
    );
    assert!(
        stdout.contains("seat-price (pass → FAIL)") && stdout.contains("$12/seat"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(knowledge.path().join("hub/synced/manifest.json")).unwrap(),
        synced_before,
        "a preview changes nothing"
    );

    let (code, _, stderr) =
        crate::cli::askdesk(&["sync", "--tenant", "ghost", "--knowledge", k, "--data", d]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unknown tenant"), "{stderr}");
}

#[test]
fn the_dev_help_center_synced_from_its_site_reads_as_its_markdown_files() {
    let (site, paths) = test_site(ALL_PAGES);
    let knowledge = knowledge_with_source(&sitemap_source(&site));
    sync(knowledge.path(), options());
    let page_urls: BTreeSet<String> = paths.iter().map(|p| site.url(p)).collect();
    let read = |p: &Passage| (p.heading_path.clone(), p.text.clone());
    let from_site: BTreeSet<_> = passages(knowledge.path(), "hub")
        .iter()
        .filter(|p| p.url.as_ref().is_some_and(|u| page_urls.contains(u)))
        .map(read)
        .collect();
    let from_files: BTreeSet<_> = passages(
        &repo_root().join("../shared/data/devdesk/knowledge"),
        "huggingface",
    )
    .iter()
    .map(read)
    .collect();
    let differing: Vec<_> = from_files.symmetric_difference(&from_site).collect();
    // the same headings and text, give or take a table cell's rendering (1 of 376 today)
    assert!(
        differing.len() * 100 <= from_files.len() * 2,
        "{} of {} passages differ: {differing:#?}",
        differing.len(),
        from_files.len()
    );
}

#[test]
fn a_folder_source_keeps_a_copy_of_its_documents_in_step() {
    let docs = tempfile::tempdir().unwrap();
    write_files(
        docs.path(),
        &[
            ("refunds.md", "---\ntitle: Refunds\nurl: https://docs.acme.test/refunds\n---\n## Can I get a refund?\nWithin 14 days of purchase.\n"),
            ("plans/team.md", "## What does the Team plan include?\nTen seats and shared billing.\n"),
            ("notes.txt", "Support answers within one business day.\n"),
            ("logo.png", "not a document"),
            ("drafts/empty.md", ""),
        ],
    );
    let source = format!(
        "kind = \"folder\"\npath = {:?}\nexclude = [\"/drafts/*\"]\nmax_removed_share = 0.5",
        docs.path()
    );
    let knowledge = knowledge_with_source(&source);
    let first = sync(knowledge.path(), options());
    assert_eq!(
        (first.added.len(), first.errors.len()),
        (3, 0),
        "{first:#?}"
    );
    let synced = passages(knowledge.path(), "hub");
    let refund = synced.iter().find(|p| p.text.contains("14 days")).unwrap();
    assert!(refund.id.starts_with("hub/synced/folder-"), "{}", refund.id);
    assert_eq!(
        refund.url.as_deref(),
        Some("https://docs.acme.test/refunds")
    );

    std::fs::write(
        docs.path().join("plans/team.md"),
        "## What does the Team plan include?\nTwelve seats.\n",
    )
    .unwrap();
    std::fs::remove_file(docs.path().join("notes.txt")).unwrap();
    let second = sync(knowledge.path(), options());
    assert_eq!(
        (
            second.changed.len(),
            second.removed.len(),
            second.unchanged,
            second.applied
        ),
        (1, 1, 1, true),
        "{second:#?}"
    );
    assert!(passages(knowledge.path(), "hub")
        .iter()
        .any(|p| p.text.contains("Twelve seats")));

    // the folder gone: every document is kept, and the sync says why
    let kept = passages(knowledge.path(), "hub");
    drop(docs);
    let third = sync(knowledge.path(), options());
    assert!(
        !third.applied && third.errors[0].message.contains("not a folder"),
        "{third:#?}"
    );
    assert_eq!(passages(knowledge.path(), "hub"), kept);
}

#[test]
fn sitemap_entries_on_another_site_are_left_out_and_said_once() {
    let site = TestSite::start(BTreeMap::new());
    site.set(
        "/docs/plans",
        Route::Page(page_html(
            "Plans",
            &site.url("/docs/plans"),
            "<p>Team plan: ten seats.</p>",
            &[],
        )),
    );
    let listed = format!(
        "<urlset><url><loc>{}</loc></url><url><loc>http://elsewhere.invalid/a</loc></url>\
         <url><loc>https://{}/docs/plans</loc></url></urlset>",
        site.url("/docs/plans"),
        site.base.trim_start_matches("http://")
    );
    site.set(
        "/sitemap.xml",
        Route::Raw("application/xml", listed.into_bytes()),
    );
    let knowledge = knowledge_with_source(&sitemap_source(&site));
    let report = sync(knowledge.path(), options());
    assert_eq!(report.added, [site.url("/docs/plans")], "{report:#?}");
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert!(
        report.errors[0]
            .message
            .contains("2 listed addresses are not pages of"),
        "{report:#?}"
    );
    assert_eq!(site.requests("/a"), 0);
}
