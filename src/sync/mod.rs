//! Keeping a brand's knowledge in step with its help-center website: the `[[sources]]` of its
//! `tenant.toml` are fetched (sitemap or same-site crawl), each page's article is kept under
//! `synced/` in the tenant folder, and the tenant is re-indexed from that folder as from any
//! other (only changed passages are embedded again).
//!
//! Data flow: [`source`] (where) → [`discover`] (which pages) → [`fetch`] (politely) →
//! [`mirror`] (what is kept) → a [`Plan`] of what changes → applied, or refused when it would
//! remove too much.
//!
//! Safe by construction: a page that cannot be fetched keeps its last good copy, a source that
//! cannot be read (the site is down, robots.txt unreadable, the sitemap broken) keeps all of its
//! pages, and a sync that would remove more than a source's `max_removed_share` of its pages
//! changes nothing and says so.

mod discover;
mod fetch;
mod mirror;
mod source;

pub use discover::{page_links, parse_sitemap};
pub use fetch::{FetchLimits, USER_AGENT};
pub use mirror::{file_for, Manifest, SYNCED_DIR};
pub use source::{parse_every, Source, SourceKind};

use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

use crate::knowledge::{self, ChunkOptions, Format, TenantConfig};
use fetch::{Fetcher, Outcome, Validators};
use mirror::Entry;

/// How a sync runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncOptions {
    /// Work out what would change, and change nothing.
    pub dry_run: bool,
    /// Apply even when more than `max_removed_share` of a source's pages would go.
    pub force: bool,
    /// A progress bar on a terminal.
    pub progress: bool,
    pub limits: FetchLimits,
}

/// A page that could not be synced, and why (the message names the address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PageError {
    pub url: String,
    pub message: String,
}

/// What a sync of one tenant found and did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SyncReport {
    pub tenant: String,
    /// Synced pages after the sync (before it, when it was not applied).
    pub pages: usize,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
    pub errors: Vec<PageError>,
    /// Why the sync was not applied, when it would have removed too much.
    pub refused: Option<String>,
    /// Whether pages were added, changed or removed in the synced folder (the tenant is then
    /// re-indexed).
    pub applied: bool,
    pub seconds: f64,
}

impl SyncReport {
    /// Pages added, changed or removed.
    pub fn changes(&self) -> usize {
        self.added.len() + self.changed.len() + self.removed.len()
    }

    /// The sync as the store records it.
    pub fn record(&self, started_at: i64) -> crate::store::SyncRecord {
        use crate::store::SyncOutcome;
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        crate::store::SyncRecord {
            tenant: self.tenant.clone(),
            started_at,
            finished_at: crate::store::now_ms(),
            outcome: match (&self.refused, self.applied) {
                (Some(_), _) => SyncOutcome::Refused,
                (None, true) => SyncOutcome::Applied,
                (None, false) => SyncOutcome::Unchanged,
            },
            pages: count(self.pages),
            added: count(self.added.len()),
            changed: count(self.changed.len()),
            removed: count(self.removed.len()),
            unchanged: count(self.unchanged),
            errors: self.errors.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// The tenant's settings or its synced folder's manifest are unusable.
    #[error("{0}")]
    Knowledge(String),
    #[error("tenant {0:?} has no [[sources]] in its tenant.toml")]
    NoSources(String),
    #[error("another sync of this tenant holds {}", .0.display())]
    Busy(PathBuf),
    #[error("cannot write {}: {}", .0.display(), .1)]
    Write(PathBuf, std::io::Error),
}

/// The tenants of `knowledge_dir` that have sources, with their sources.
pub fn tenants_with_sources(knowledge_dir: &Path) -> Vec<(String, Vec<Source>)> {
    knowledge::tenant_ids(knowledge_dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|id| {
            let config = TenantConfig::load(&knowledge_dir.join(&id).join("tenant.toml")).ok()?;
            (!config.sources.is_empty()).then_some((id, config.sources))
        })
        .collect()
}

/// Syncs one tenant's sources into its `synced/` folder (or, with `dry_run`, only works out
/// what would change). The caller re-indexes the tenant when the report has changes.
pub async fn sync_tenant(
    knowledge_dir: &Path,
    tenant: &str,
    options: SyncOptions,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let tenant_dir = knowledge_dir.join(tenant);
    if !knowledge::is_valid_tenant_id(tenant) || !tenant_dir.is_dir() {
        return Err(SyncError::UnknownTenant(tenant.to_string()));
    }
    let config = TenantConfig::load(&tenant_dir.join("tenant.toml"))
        .map_err(|e| SyncError::Knowledge(e.to_string()))?;
    if config.sources.is_empty() {
        return Err(SyncError::NoSources(tenant.to_string()));
    }
    let synced_dir = tenant_dir.join(SYNCED_DIR);
    let _lock = if options.dry_run {
        None
    } else {
        Some(lock(&synced_dir)?)
    };
    let manifest = Manifest::load(&synced_dir).map_err(SyncError::Knowledge)?;
    let mut passes = Vec::with_capacity(config.sources.len());
    for source in &config.sources {
        passes.push(read_source(source, &manifest, &tenant_dir, tenant, options).await);
    }
    let plan = Plan::new(&manifest, &config.sources, passes, options.force);
    let write = !options.dry_run && plan.refused.is_none() && plan.has_changes(&manifest);
    if write {
        // new validators alone (an ETag that moved) are written too, but change no page
        plan.apply(&synced_dir)?;
    }
    let applied = write && plan.changes_pages();
    let pages = match plan.refused {
        None => plan.manifest.pages.len(),
        Some(_) => manifest.pages.len(),
    };
    Ok(SyncReport {
        tenant: tenant.to_string(),
        pages,
        added: plan.added,
        changed: plan.changed,
        removed: plan.removed,
        unchanged: plan.unchanged,
        errors: plan.errors,
        refused: plan.refused,
        applied,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Takes the synced folder's lock without waiting; released when the file is dropped.
fn lock(synced_dir: &Path) -> Result<std::fs::File, SyncError> {
    let write_error = |e| SyncError::Write(synced_dir.to_path_buf(), e);
    std::fs::create_dir_all(synced_dir).map_err(write_error)?;
    let path = synced_dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| SyncError::Write(path.clone(), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SyncError::Busy(path)),
        Err(std::fs::TryLockError::Error(e)) => Err(SyncError::Write(path, e)),
    }
}

/// What one page's request came to.
#[derive(Debug)]
enum PageResult {
    /// The page as it is kept, and the site pages it links to (crawl sources only).
    Fresh {
        url: Url,
        document: String,
        validators: Validators,
        links: Vec<String>,
        /// Where a folder source's document is kept; web pages go by their address.
        file: Option<String>,
    },
    /// The kept copy is current (304).
    NotModified {
        url: Url,
    },
    /// The site says the page is gone (404, 410).
    Gone {
        url: Url,
    },
    Failed {
        url: Url,
        message: String,
    },
}

impl PageResult {
    fn url(&self) -> &Url {
        match self {
            Self::Fresh { url, .. }
            | Self::NotModified { url }
            | Self::Gone { url }
            | Self::Failed { url, .. } => url,
        }
    }
}

/// One source's pages, or why the source could not be read at all.
struct SourcePass {
    results: Vec<PageResult>,
    error: Option<String>,
}

impl SourcePass {
    fn failed(error: String) -> Self {
        Self {
            results: Vec::new(),
            error: Some(error),
        }
    }
}

/// The most sitemaps one source may list through sitemap indexes.
const MAX_SITEMAPS: usize = 50;

async fn read_source(
    source: &Source,
    manifest: &Manifest,
    tenant_dir: &Path,
    tenant: &str,
    options: SyncOptions,
) -> SourcePass {
    let crawl = match source.kind {
        SourceKind::Folder => return read_folder(source, tenant_dir, tenant).await,
        SourceKind::Sitemap => false,
        SourceKind::Crawl => true,
    };
    let site = match source.address() {
        Ok(site) => site,
        Err(e) => return SourcePass::failed(e),
    };
    let fetcher = match Fetcher::new(options.limits, Duration::from_millis(source.delay_ms)) {
        Ok(fetcher) => Arc::new(fetcher),
        Err(e) => return SourcePass::failed(e),
    };
    if let Err(e) = fetcher.load_robots(&site).await {
        return SourcePass::failed(format!("robots.txt unreadable, nothing fetched: {e}"));
    }
    let reader = SourceReader {
        source,
        site,
        fetcher,
        manifest,
        progress: options.progress,
    };
    if crawl {
        reader.crawl().await
    } else {
        reader.sitemap().await
    }
}

/// A folder source's documents (those its patterns want, by path inside the folder), each
/// checked to parse; kept under `synced/folder-<folder name>/` with their own extension.
async fn read_folder(source: &Source, tenant_dir: &Path, tenant: &str) -> SourcePass {
    let Some(path) = &source.path else {
        return SourcePass::failed("a folder source needs `path`".into());
    };
    let folder = tenant_dir.join(path);
    let (source, tenant) = (source.clone(), tenant.to_string());
    let read = tokio::task::spawn_blocking(move || folder_pass(&source, &folder, &tenant)).await;
    read.unwrap_or_else(|e| SourcePass::failed(format!("the folder could not be read ({e})")))
}

fn folder_pass(source: &Source, folder: &Path, tenant: &str) -> SourcePass {
    let (Ok(root), true) = (folder.canonicalize(), folder.is_dir()) else {
        return SourcePass::failed(format!("{}: not a folder", folder.display()));
    };
    let Ok(root_url) = Url::from_directory_path(&root) else {
        return SourcePass::failed(format!("{}: not a folder", folder.display()));
    };
    let name = knowledge::slugify(&root.file_name().unwrap_or_default().to_string_lossy());
    let (files, warnings) = knowledge::documents_in(&root);
    // a link or name left out is reported as a page that could not be read
    let mut results: Vec<PageResult> = warnings
        .into_iter()
        .map(|w| {
            let url = match &w {
                knowledge::KnowledgeError::Document { path, .. } => {
                    Url::from_file_path(path).unwrap_or_else(|_| root_url.clone())
                }
                _ => root_url.clone(),
            };
            PageResult::Failed {
                url,
                message: w.to_string(),
            }
        })
        .collect();
    for file in files.iter().take(source.max_pages) {
        let Ok(relative) = file.strip_prefix(&root) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        let Ok(url) = Url::from_file_path(file) else {
            continue;
        };
        if !source.wants(&format!("/{relative}")) {
            continue;
        }
        let read = knowledge::read_document(file)
            .map_err(|e| e.to_string())
            .and_then(|(format, text)| {
                knowledge::parse_document(
                    tenant,
                    &relative,
                    format,
                    &text,
                    ChunkOptions::default(),
                )
                .map_err(|e| format!("{}: {e}", file.display()))?;
                Ok(text)
            });
        results.push(match read {
            Ok(document) => PageResult::Fresh {
                url,
                document,
                validators: Validators::default(),
                links: Vec::new(),
                file: Some(format!("folder-{name}/{relative}")),
            },
            Err(message) => PageResult::Failed { message, url },
        });
    }
    SourcePass {
        results,
        error: None,
    }
}

struct SourceReader<'a> {
    source: &'a Source,
    site: Url,
    fetcher: Arc<Fetcher>,
    manifest: &'a Manifest,
    progress: bool,
}

impl SourceReader<'_> {
    /// The pages the sitemap (and the sitemaps it lists) names, fetched.
    async fn sitemap(&self) -> SourcePass {
        let mut pages = Vec::new();
        let mut queue = vec![self.site.clone()];
        let mut read = 0;
        while let Some(address) = queue.pop() {
            read += 1;
            if read > MAX_SITEMAPS {
                return SourcePass::failed(format!(
                    "{}: more than {MAX_SITEMAPS} sitemaps",
                    self.site
                ));
            }
            let text = match self.fetcher.page(&address, &Validators::default()).await {
                Outcome::Page(fetched) => fetched.text,
                Outcome::Failed(e) => return SourcePass::failed(format!("sitemap {e}")),
                _ => return SourcePass::failed(format!("sitemap {address}: not found")),
            };
            let sitemap = match parse_sitemap(&text) {
                Ok(sitemap) => sitemap,
                Err(e) => return SourcePass::failed(format!("sitemap {address}: {e}")),
            };
            pages.extend(sitemap.pages);
            queue.extend(
                sitemap
                    .sitemaps
                    .iter()
                    .filter_map(|s| Url::parse(s).ok())
                    .filter(|s| s.origin() == self.site.origin()),
            );
        }
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        let mut elsewhere = 0;
        for page in pages {
            let Some(url) = Url::parse(&page)
                .ok()
                .and_then(|u| discover::page_address(&u, &self.site))
            else {
                elsewhere += 1;
                continue;
            };
            if self.source.wants(url.path())
                && self.fetcher.allowed(&url).await
                && seen.insert(url.clone())
            {
                wanted.push(url);
            }
            if wanted.len() == self.source.max_pages {
                break;
            }
        }
        let bar = self.bar(wanted.len());
        let mut results = self.fetch_all(wanted, false, &bar).await;
        if elsewhere > 0 {
            // said once, as a failure of the sitemap itself (nothing of it is removed for it)
            results.push(PageResult::Failed {
                url: self.site.clone(),
                message: format!(
                    "{}: {elsewhere} listed addresses are not pages of {} (another scheme, host or port, or not a page), left out",
                    self.site,
                    fetch::origin(&self.site)
                ),
            });
        }
        SourcePass {
            results,
            error: None,
        }
    }

    /// The start page and the site pages reachable from it by links, breadth first, up to
    /// `max_pages`. The start page leads to others even when the patterns leave it out.
    async fn crawl(&self) -> SourcePass {
        let start = discover::page_address(&self.site, &self.site).unwrap_or(self.site.clone());
        let mut seen: HashSet<Url> = HashSet::from([start.clone()]);
        // the start page counts against the limit only when it is kept
        let cap = self.source.max_pages + usize::from(!self.source.wants(start.path()));
        let mut frontier = vec![start.clone()];
        let mut results = Vec::new();
        let bar = self.bar(self.source.max_pages);
        while !frontier.is_empty() {
            let wave = std::mem::take(&mut frontier);
            for result in self.fetch_all(wave, true, &bar).await {
                let links: Vec<String> = match &result {
                    PageResult::Fresh { links, .. } => links.clone(),
                    PageResult::NotModified { url } => self
                        .manifest
                        .pages
                        .get(url.as_str())
                        .map(|e| e.links.clone())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                for link in links.iter().filter_map(|l| Url::parse(l).ok()) {
                    if seen.len() >= cap {
                        break;
                    }
                    if self.source.wants(link.path())
                        && self.fetcher.allowed(&link).await
                        && seen.insert(link.clone())
                    {
                        frontier.push(link);
                    }
                }
                let is_start = result.url() == &start;
                if !is_start || self.source.wants(start.path()) {
                    results.push(result);
                }
            }
        }
        SourcePass {
            results,
            error: None,
        }
    }

    fn bar(&self, len: usize) -> crate::progress::Progress {
        crate::progress::Progress::new(
            self.progress,
            len as u64,
            "syncing {prefix} [{bar:30}] {pos}/{len} pages",
            "syncing",
            "pages",
        )
    }

    /// Fetches pages, `concurrency` at a time; each page is prepared off the async threads.
    async fn fetch_all(
        &self,
        urls: Vec<Url>,
        with_links: bool,
        bar: &crate::progress::Progress,
    ) -> Vec<PageResult> {
        let mut results: Vec<PageResult> = futures_util::stream::iter(urls)
            .map(|url| self.fetch_one(url, with_links))
            .buffer_unordered(self.source.concurrency)
            .inspect(|_| bar.inc(1))
            .collect()
            .await;
        results.sort_by(|a, b| a.url().as_str().cmp(b.url().as_str()));
        results
    }

    async fn fetch_one(&self, url: Url, with_links: bool) -> PageResult {
        if !self.fetcher.allowed(&url).await {
            return PageResult::Gone { url };
        }
        let validators = self
            .manifest
            .pages
            .get(url.as_str())
            .map(Entry::validators)
            .unwrap_or_default();
        let fetched = match self.fetcher.page(&url, &validators).await {
            Outcome::Page(fetched) => fetched,
            Outcome::NotModified => return PageResult::NotModified { url },
            Outcome::Gone => return PageResult::Gone { url },
            Outcome::Failed(message) => return PageResult::Failed { url, message },
        };
        let site = self.site.clone();
        let prepared =
            tokio::task::spawn_blocking(move || prepare(fetched, &site, with_links)).await;
        match prepared {
            Ok(Ok((document, validators, links))) => PageResult::Fresh {
                url,
                document,
                validators,
                links,
                file: None,
            },
            Ok(Err(message)) => PageResult::Failed {
                message: format!("{url}: {message}"),
                url,
            },
            Err(e) => PageResult::Failed {
                message: format!("{url}: the page could not be read ({e})"),
                url,
            },
        }
    }
}

/// The page as kept, checked to hold text to index, and its links.
fn prepare(
    fetched: fetch::Fetched,
    site: &Url,
    with_links: bool,
) -> Result<(String, Validators, Vec<String>), String> {
    knowledge::check_nesting(&fetched.text)?;
    let page = scraper::Html::parse_document(&fetched.text);
    let document = mirror::kept_document(&page, &fetched.url);
    knowledge::parse_document(
        "sync",
        "page",
        Format::Html,
        &document,
        ChunkOptions::default(),
    )?;
    let links = if with_links {
        page_links(&page, &fetched.url, site)
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        Vec::new()
    };
    Ok((document, fetched.validators, links))
}

/// What a sync changes in the synced folder.
#[derive(Debug)]
struct Plan {
    manifest: Manifest,
    /// Files to write under `synced/`, with their content.
    writes: Vec<(String, String)>,
    /// Files to delete under `synced/`.
    deletes: Vec<String>,
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
    unchanged: usize,
    errors: Vec<PageError>,
    refused: Option<String>,
}

impl Plan {
    fn new(old: &Manifest, sources: &[Source], passes: Vec<SourcePass>, force: bool) -> Self {
        let mut plan = Plan {
            manifest: Manifest::default(),
            writes: Vec::new(),
            deletes: Vec::new(),
            added: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
            unchanged: 0,
            errors: Vec::new(),
            refused: None,
        };
        for (source, pass) in sources.iter().zip(passes) {
            plan.take_source(old, source, pass);
            let previous: Vec<&String> = old
                .pages
                .iter()
                .filter(|(_, e)| e.source == source.key())
                .map(|(url, _)| url)
                .collect();
            let gone = previous
                .iter()
                .filter(|url| !plan.manifest.pages.contains_key(url.as_str()))
                .count();
            let share = gone as f32 / previous.len().max(1) as f32;
            if !force && gone > 0 && share > source.max_removed_share && plan.refused.is_none() {
                plan.refused = Some(format!(
                    "{gone} of the {} pages of {} would be removed ({:.0}%, more than max_removed_share {:.0}%); nothing was changed (sync with --force to apply)",
                    previous.len(),
                    source.key(),
                    share * 100.0,
                    source.max_removed_share * 100.0
                ));
            }
        }
        let kept_files: HashSet<&str> = plan
            .manifest
            .pages
            .values()
            .map(|e| e.file.as_str())
            .collect();
        for (url, entry) in &old.pages {
            if !plan.manifest.pages.contains_key(url) {
                plan.removed.push(url.clone());
                if !kept_files.contains(entry.file.as_str()) && is_safe_file(&entry.file) {
                    plan.deletes.push(entry.file.clone());
                }
            }
        }
        plan
    }

    fn take_source(&mut self, old: &Manifest, source: &Source, pass: SourcePass) {
        if let Some(error) = pass.error {
            self.errors.push(PageError {
                url: source.key(),
                message: error,
            });
            for (url, entry) in old.pages.iter().filter(|(_, e)| e.source == source.key()) {
                self.keep(url, entry.clone());
            }
            return;
        }
        for result in pass.results {
            let key = result.url().to_string();
            if self.manifest.pages.contains_key(&key) {
                continue; // an earlier source has it
            }
            let before = old.pages.get(&key);
            match result {
                PageResult::Fresh {
                    url,
                    document,
                    validators,
                    links,
                    file,
                } => {
                    let sha256 = mirror::sha256_hex(document.as_bytes());
                    let file = match (before, file) {
                        (Some(entry), _) if is_safe_file(&entry.file) => entry.file.clone(),
                        (_, Some(file)) => file,
                        _ => self.free_file(old, &url),
                    };
                    match before {
                        Some(entry) if entry.sha256 == sha256 => self.unchanged += 1,
                        Some(_) => self.changed.push(key.clone()),
                        None => self.added.push(key.clone()),
                    }
                    if before.is_none_or(|e| e.sha256 != sha256 || e.file != file) {
                        self.writes.push((file.clone(), document));
                    }
                    let entry = Entry {
                        file,
                        source: source.key(),
                        sha256,
                        etag: validators.etag,
                        last_modified: validators.last_modified,
                        links,
                    };
                    self.manifest.pages.insert(key, entry);
                }
                PageResult::NotModified { .. } => match before {
                    Some(entry) => self.keep(&key, entry.clone()),
                    None => self.errors.push(PageError {
                        message: format!("{key}: answered 304 to a request that had no validators"),
                        url: key,
                    }),
                },
                PageResult::Failed { message, .. } => {
                    if let Some(entry) = before {
                        self.keep(&key, entry.clone());
                    }
                    self.errors.push(PageError { url: key, message });
                }
                PageResult::Gone { .. } => {}
            }
        }
    }

    fn keep(&mut self, url: &str, entry: Entry) {
        self.unchanged += 1;
        self.manifest.pages.insert(url.to_string(), entry);
    }

    /// The page's file, made unique when another address already has it.
    fn free_file(&self, old: &Manifest, url: &Url) -> String {
        let file = file_for(url);
        let taken = |f: &str| {
            self.manifest.pages.values().any(|e| e.file == f)
                || old
                    .pages
                    .iter()
                    .any(|(u, e)| e.file == f && u != url.as_str())
        };
        if !taken(&file) {
            return file;
        }
        let stem = file.strip_suffix(".html").unwrap_or(&file);
        let hash = mirror::sha256_hex(url.as_str().as_bytes());
        format!("{stem}-{}.html", &hash[..8])
    }

    fn changes_pages(&self) -> bool {
        !(self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty())
    }

    /// Every write or delete comes with a manifest entry that changed or went.
    fn has_changes(&self, old: &Manifest) -> bool {
        self.manifest != *old
    }

    /// Writes the changed pages, deletes the removed ones, then the manifest.
    fn apply(&self, synced_dir: &Path) -> Result<(), SyncError> {
        for (file, document) in &self.writes {
            let path = synced_dir.join(file);
            mirror::write_atomically(&path, document.as_bytes())
                .map_err(|e| SyncError::Write(path, e))?;
        }
        let mut folders = BTreeSet::new();
        for file in &self.deletes {
            let path = synced_dir.join(file);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SyncError::Write(path, e)),
            }
            if let Some(parent) = path.parent() {
                folders.insert(parent.to_path_buf());
            }
        }
        for folder in folders.iter().rev() {
            // only empty folders go; a folder that still holds pages stays
            let _ = std::fs::remove_dir(folder);
        }
        self.manifest
            .save(synced_dir)
            .map_err(|e| SyncError::Write(synced_dir.to_path_buf(), e))
    }
}

/// A manifest's file name is used only when it stays inside the synced folder and names a
/// document.
fn is_safe_file(file: &str) -> bool {
    let path = Path::new(file);
    path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        && knowledge::document_format(path).is_some()
}
