//! Per-tenant search indexes: built from passages, persisted under the data folder, swapped in
//! atomically, and rebuilt incrementally.
//!
//! Layout under `<data>/`:
//! ```text
//! embeddings/<model fingerprint>.bin     vector cache by text hash (shared by all tenants)
//! index/<tenant>/CURRENT                 name of the live generation, replaced by rename
//! index/<tenant>/gen-<n>/manifest.json   fingerprint of what was indexed
//! index/<tenant>/gen-<n>/passages.json
//! index/<tenant>/gen-<n>/heads.f32       question/heading vectors
//! index/<tenant>/gen-<n>/bodies.f32      whole-passage vectors
//! index/<tenant>/gen-<n>/sentences.f32   sentence vectors, passage by passage in order
//! index/<tenant>/gen-<n>/tantivy/
//! ```
//! A generation is written completely and fsynced before `CURRENT` points at it, so a crash
//! mid-index leaves the previous generation in use. When the fingerprint of the knowledge
//! (passages, model, settings) equals the live generation's, nothing is embedded or rebuilt.

mod lexical;
mod vectors;

pub use lexical::{FieldBoosts, LexicalIndex};
pub use vectors::{text_hash, Matrix, TextHash, VectorCache};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::embed::{EmbedError, Embedder};
use crate::knowledge::{Passage, Tenant};

/// Bumped when the on-disk layout or what goes into an index changes.
const FORMAT_VERSION: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    /// Another process (an `askdesk index`, or a service re-indexing) is writing indexes into the
    /// same data folder.
    #[error("another index run holds {}; try again when it has finished", path.display())]
    Locked { path: PathBuf },
}

/// The lock file that lets one index run at a time write into a data folder.
const LOCK_FILE: &str = "index.lock";

/// Takes the data folder's index lock without waiting; it is released when the file is dropped
/// (or the process dies).
fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, IndexError> {
    std::fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(IndexError::Locked { path }),
        Err(std::fs::TryLockError::Error(source)) => Err(IndexError::Io { path, source }),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How passages are indexed; part of the index fingerprint.
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexSettings {
    pub boosts: FieldBoosts,
}

/// What one indexing run did for one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub tenant: String,
    pub passages: usize,
    /// Texts that had to be embedded (cache misses).
    pub embedded: usize,
    /// False when the live generation was already up to date.
    pub rebuilt: bool,
    pub seconds: f64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    fingerprint: String,
    tenant: String,
    passages: usize,
    dim: usize,
}

/// A tenant's searchable index: passages, BM25 index, and the two dense matrices.
pub struct TenantIndex {
    pub tenant: Tenant,
    pub lexical: LexicalIndex,
    /// Vectors of each passage's question or heading.
    pub heads: Matrix,
    /// Vectors of each passage's heading plus text.
    pub bodies: Matrix,
    /// Vectors of the passages' sentences ([`Passage::sentences_for_embedding`]).
    pub sentences: Matrix,
    /// The rows of `sentences` that belong to each passage, by passage ordinal.
    pub sentence_rows: Vec<std::ops::Range<usize>>,
    /// Generation folder name, or "memory".
    pub generation: String,
}

impl TenantIndex {
    pub fn passages(&self) -> &[Passage] {
        &self.tenant.passages
    }
}

/// The texts embedded for a tenant's passages.
struct EmbeddingTexts {
    heads: Vec<String>,
    bodies: Vec<String>,
    sentences: Vec<String>,
    sentence_rows: Vec<std::ops::Range<usize>>,
}

impl EmbeddingTexts {
    fn of(passages: &[Passage], brand: &str) -> Self {
        let (heads, bodies) = passages
            .iter()
            .map(|p| p.texts_for_embedding(brand))
            .unzip();
        let (sentences, sentence_rows) = sentences_of(passages, brand);
        Self {
            heads,
            bodies,
            sentences,
            sentence_rows,
        }
    }
}

/// The passages' sentences in order, and the rows each passage's sentences take.
fn sentences_of(passages: &[Passage], brand: &str) -> (Vec<String>, Vec<std::ops::Range<usize>>) {
    let mut sentences = Vec::new();
    let mut rows = Vec::with_capacity(passages.len());
    for passage in passages {
        let start = sentences.len();
        sentences.extend(passage.sentences_for_embedding(brand));
        rows.push(start..sentences.len());
    }
    (sentences, rows)
}

/// The vectors of one tenant's passages.
struct PassageVectors {
    heads: Matrix,
    bodies: Matrix,
    sentences: Matrix,
    sentence_rows: Vec<std::ops::Range<usize>>,
}

/// Builds and opens tenant indexes. The vector cache is opened only when something must be
/// embedded, so starting up with up-to-date indexes reads no cache at all.
pub struct Indexer {
    data_dir: Option<PathBuf>,
    embedder: Arc<dyn Embedder>,
    settings: IndexSettings,
    cache: Option<VectorCache>,
    /// Folder of the vector cache when it differs from `<data_dir>/embeddings`.
    cache_dir: Option<PathBuf>,
    progress: bool,
    /// The data folder's index lock, taken by the first [`Indexer::index`] and held until the
    /// indexer is dropped.
    lock: Option<std::fs::File>,
}

impl Indexer {
    /// `data_dir` None keeps everything in memory (one-off evaluations, tests).
    pub fn new(
        data_dir: Option<PathBuf>,
        embedder: Arc<dyn Embedder>,
        settings: IndexSettings,
    ) -> Self {
        Self {
            cache_dir: data_dir_embeddings(&data_dir),
            data_dir,
            embedder,
            settings,
            cache: None,
            progress: false,
            lock: None,
        }
    }

    /// Keeps vectors in `<data>/embeddings` even for an in-memory index (repeated evaluations).
    pub fn use_vector_cache_in(&mut self, data: &Path) {
        self.cache_dir = Some(data.join("embeddings"));
    }

    /// Show a progress bar on a terminal while embedding.
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// Opens the tenant's live index when it matches `tenant`, else builds and swaps in a new one.
    /// Blocking: run it on a blocking thread.
    pub fn index(&mut self, tenant: Tenant) -> Result<(TenantIndex, BuildReport), IndexError> {
        let started = Instant::now();
        if let (Some(data_dir), None) = (&self.data_dir, &self.lock) {
            self.lock = Some(lock_data_dir(data_dir)?);
        }
        let fingerprint = self.fingerprint(&tenant);
        if let Some(dir) = self.tenant_dir(&tenant.id) {
            if let Some(index) = self.open_current(&dir, &tenant, &fingerprint)? {
                let report = BuildReport {
                    tenant: tenant.id.clone(),
                    passages: index.passages().len(),
                    embedded: 0,
                    rebuilt: false,
                    seconds: started.elapsed().as_secs_f64(),
                };
                return Ok((index, report));
            }
        }
        let (vectors, embedded) = self.vectors_for(&tenant.passages, &tenant.config.name)?;
        let index = match self.tenant_dir(&tenant.id) {
            Some(dir) => self.write_generation(&dir, tenant, vectors, &fingerprint)?,
            None => TenantIndex {
                lexical: LexicalIndex::build(None, &tenant.passages, self.settings.boosts)?,
                tenant,
                heads: vectors.heads,
                bodies: vectors.bodies,
                sentences: vectors.sentences,
                sentence_rows: vectors.sentence_rows,
                generation: "memory".into(),
            },
        };
        let report = BuildReport {
            tenant: index.tenant.id.clone(),
            passages: index.passages().len(),
            embedded,
            rebuilt: true,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((index, report))
    }

    fn tenant_dir(&self, tenant: &str) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|d| d.join("index").join(tenant))
    }

    fn fingerprint(&self, tenant: &Tenant) -> String {
        let mut h = Sha256::new();
        h.update(FORMAT_VERSION.to_le_bytes());
        h.update(tenant.config.name.as_bytes());
        h.update(self.embedder.fingerprint().as_bytes());
        let b = self.settings.boosts;
        h.update(format!("{}/{}/{}", b.question, b.title, b.body));
        for p in &tenant.passages {
            h.update(p.content_hash());
        }
        hex(&h.finalize()[..16])
    }

    fn open_current(
        &self,
        dir: &Path,
        tenant: &Tenant,
        fingerprint: &str,
    ) -> Result<Option<TenantIndex>, IndexError> {
        let Ok(name) = std::fs::read_to_string(dir.join("CURRENT")) else {
            return Ok(None);
        };
        let generation = dir.join(name.trim());
        let Ok(raw) = std::fs::read(generation.join("manifest.json")) else {
            return Ok(None);
        };
        match serde_json::from_slice::<Manifest>(&raw) {
            Ok(m) if m.fingerprint == fingerprint && m.format == FORMAT_VERSION => {}
            _ => return Ok(None),
        }
        // The fingerprint covers every passage, so the passages loaded now are the indexed ones.
        let heads = Matrix::read(&generation.join("heads.f32")).map_err(io_error(&generation))?;
        let bodies = Matrix::read(&generation.join("bodies.f32")).map_err(io_error(&generation))?;
        let sentences =
            Matrix::read(&generation.join("sentences.f32")).map_err(io_error(&generation))?;
        // Sentence splitting is deterministic, so the rows follow from the passages.
        let (_, sentence_rows) = sentences_of(&tenant.passages, &tenant.config.name);
        if heads.rows() != tenant.passages.len()
            || bodies.rows() != tenant.passages.len()
            || sentences.rows() != sentence_rows.last().map_or(0, |r| r.end)
        {
            return Ok(None);
        }
        let lexical = LexicalIndex::open(&generation.join("tantivy"), self.settings.boosts)?;
        Ok(Some(TenantIndex {
            tenant: tenant.clone(),
            lexical,
            heads,
            bodies,
            sentences,
            sentence_rows,
            generation: name.trim().to_string(),
        }))
    }

    /// Head, body and sentence vectors for `passages`, embedding only texts missing from the
    /// cache. Returns them with the number of texts embedded.
    fn vectors_for(
        &mut self,
        passages: &[Passage],
        brand: &str,
    ) -> Result<(PassageVectors, usize), IndexError> {
        let EmbeddingTexts {
            heads,
            bodies,
            sentences,
            sentence_rows,
        } = EmbeddingTexts::of(passages, brand);
        let texts: Vec<&String> = heads.iter().chain(&bodies).chain(&sentences).collect();
        let keys: Vec<TextHash> = texts.iter().map(|t| text_hash(t)).collect();
        let cache = self.cache()?;
        let mut missing: Vec<(TextHash, &str)> = Vec::new();
        for (key, text) in keys.iter().zip(&texts) {
            if cache.get(key).is_none() && !missing.iter().any(|(k, _)| k == key) {
                missing.push((*key, text.as_str()));
            }
        }
        // Similar lengths in one batch waste less compute on padding.
        missing.sort_by_key(|(_, text)| text.len());
        let embedded = missing.len();
        let bar = crate::progress::Progress::new(
            self.progress && embedded > 0,
            embedded as u64,
            "embedding {bar:30} {pos}/{len} texts ({per_sec}, eta {eta})",
            "embedding",
            "texts",
        );
        let embedder = Arc::clone(&self.embedder);
        let batches: Vec<&[(TextHash, &str)]> = missing.chunks(64).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = embedder.parallelism().clamp(1, batches.len().max(1));
        let (sender, receiver) = std::sync::mpsc::channel();
        let cache_path = self.cache_dir.clone().unwrap_or_default();
        std::thread::scope(|scope| -> Result<(), IndexError> {
            // Workers embed batches concurrently (one model session each); this thread stores
            // the results, so the cache file has a single writer.
            for _ in 0..workers {
                let sender = sender.clone();
                let (next, batches, embedder) = (&next, &batches, &embedder);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(batch) = batches.get(i) else { break };
                    let texts: Vec<&str> = batch.iter().map(|(_, t)| *t).collect();
                    let result = embedder.embed(&texts).map(|vectors| {
                        batch
                            .iter()
                            .map(|(k, _)| *k)
                            .zip(vectors)
                            .collect::<Vec<_>>()
                    });
                    let failed = result.is_err();
                    if sender.send(result).is_err() || failed {
                        break;
                    }
                });
            }
            drop(sender);
            for result in receiver {
                let items = result.inspect_err(|_| {
                    // stop the other workers early
                    next.store(usize::MAX / 2, std::sync::atomic::Ordering::Relaxed);
                })?;
                let count = items.len() as u64;
                self.cache()?
                    .insert_all(items)
                    .map_err(io_error(&cache_path))?;
                bar.inc(count);
            }
            Ok(())
        })?;
        bar.finish();
        let cache_dir = self.cache_dir.clone().unwrap_or_default();
        let dim = self.embedder.dim();
        let cache = self.cache()?;
        let matrix = |keys: &[TextHash]| -> Result<Matrix, IndexError> {
            let mut data = Vec::with_capacity(keys.len() * dim);
            for key in keys {
                let v = cache.get(key).ok_or_else(|| IndexError::Corrupt {
                    path: cache_dir.clone(),
                    message: "vector missing after embedding".into(),
                })?;
                data.extend_from_slice(v);
            }
            Ok(Matrix { dim, data })
        };
        let n = passages.len();
        let vectors = PassageVectors {
            heads: matrix(&keys[..n])?,
            bodies: matrix(&keys[n..2 * n])?,
            sentences: matrix(&keys[2 * n..])?,
            sentence_rows,
        };
        Ok((vectors, embedded))
    }

    fn cache(&mut self) -> Result<&mut VectorCache, IndexError> {
        if self.cache.is_none() {
            let dim = self.embedder.dim();
            let cache = match &self.cache_dir {
                Some(dir) => VectorCache::open(dir, self.embedder.fingerprint(), dim)
                    .map_err(io_error(dir))?,
                None => VectorCache::in_memory(dim),
            };
            self.cache = Some(cache);
        }
        Ok(self.cache.as_mut().expect("cache was just set"))
    }

    fn write_generation(
        &self,
        dir: &Path,
        tenant: Tenant,
        vectors: PassageVectors,
        fingerprint: &str,
    ) -> Result<TenantIndex, IndexError> {
        let PassageVectors {
            heads,
            bodies,
            sentences,
            sentence_rows,
        } = vectors;
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        remove_stale_generations(dir, None);
        let name = format!(
            "gen-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let generation = dir.join(&name);
        std::fs::create_dir_all(&generation).map_err(io_error(&generation))?;
        let lexical = LexicalIndex::build(
            Some(&generation.join("tantivy")),
            &tenant.passages,
            self.settings.boosts,
        )?;
        heads
            .write(&generation.join("heads.f32"))
            .map_err(io_error(&generation))?;
        bodies
            .write(&generation.join("bodies.f32"))
            .map_err(io_error(&generation))?;
        sentences
            .write(&generation.join("sentences.f32"))
            .map_err(io_error(&generation))?;
        let passages_json =
            serde_json::to_vec(&tenant.passages).map_err(|e| IndexError::Corrupt {
                path: generation.clone(),
                message: e.to_string(),
            })?;
        write_synced(&generation.join("passages.json"), &passages_json)?;
        let manifest = Manifest {
            format: FORMAT_VERSION,
            fingerprint: fingerprint.to_string(),
            tenant: tenant.id.clone(),
            passages: tenant.passages.len(),
            dim: heads.dim,
        };
        let manifest = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        write_synced(&generation.join("manifest.json"), &manifest)?;
        // The swap: CURRENT is replaced in one rename, after everything it names is on disk.
        let tmp = dir.join("CURRENT.tmp");
        write_synced(&tmp, name.as_bytes())?;
        std::fs::rename(&tmp, dir.join("CURRENT")).map_err(io_error(dir))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        remove_stale_generations(dir, Some(&name));
        Ok(TenantIndex {
            tenant,
            lexical,
            heads,
            bodies,
            sentences,
            sentence_rows,
            generation: name,
        })
    }
}

fn data_dir_embeddings(data_dir: &Option<PathBuf>) -> Option<PathBuf> {
    data_dir.as_ref().map(|d| d.join("embeddings"))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// Deletes generation folders other than the live one (and `keep`): leftovers of a crashed or
/// superseded build. Open readers keep their files until they close them.
fn remove_stale_generations(dir: &Path, keep: Option<&str>) {
    let live = std::fs::read_to_string(dir.join("CURRENT")).unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("gen-") && name != live.trim() && Some(name.as_str()) != keep {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
