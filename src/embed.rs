//! Dense embeddings: the [`Embedder`] seam and its fastembed (ONNX Runtime) implementation.
//!
//! The model and runtime come from the setup script's cache (`scripts/setup.sh`), never from a
//! model hub: any fastembed-compatible ONNX folder (`model.onnx`, `tokenizer.json`, `config.json`,
//! `special_tokens_map.json`, `tokenizer_config.json`) works, with pooling and max length set in
//! [`EmbedderConfig`]. The runtime library is loaded with `ort::init_from` before anything else so
//! that a missing or too-old library is an error that says how to fix it, not a panic.

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why embedding failed. Runtime and model errors happen at start-up; inference errors per call.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("ONNX Runtime could not be loaded: {0}. Run `scripts/setup.sh` (or `make setup`) to install it, or point ASKDESK_ORT_LIB at libonnxruntime.so >= 1.24")]
    Runtime(String),
    #[error("embedding model at {path} is unusable: {message}. Run `scripts/setup.sh` to install the default model, or point ASKDESK_MODEL_DIR at a folder with model.onnx and tokenizer files")]
    Model { path: PathBuf, message: String },
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// Pooling of token vectors into one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolingKind {
    Mean,
    Cls,
}

/// Where the model and runtime are, and how to run them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmbedderConfig {
    /// Folder with `model.onnx` and the tokenizer files (env `ASKDESK_MODEL_DIR`).
    pub model_dir: PathBuf,
    /// Path of `libonnxruntime.so` (env `ASKDESK_ORT_LIB`).
    pub runtime_lib: PathBuf,
    pub pooling: PoolingKind,
    /// Token limit; longer texts are truncated.
    pub max_length: usize,
    /// Threads one inference may use (0 = all cores).
    pub threads: usize,
    /// Independent model sessions, so concurrent requests do not queue behind one another.
    pub sessions: usize,
}

impl Default for EmbedderConfig {
    fn default() -> Self {
        Self {
            model_dir: PathBuf::from(".cache/models/minilm-int8"),
            runtime_lib: PathBuf::from(".cache/onnxruntime/libonnxruntime.so"),
            pooling: PoolingKind::Mean,
            max_length: 256,
            threads: 0,
            sessions: 1,
        }
    }
}

impl EmbedderConfig {
    /// Defaults overridden by `ASKDESK_MODEL_DIR`, `ASKDESK_ORT_LIB`, `ASKDESK_EMBED_POOLING`,
    /// `ASKDESK_EMBED_MAX_LENGTH`, `ASKDESK_EMBED_THREADS` and `ASKDESK_EMBED_SESSIONS`.
    pub fn from_env() -> Self {
        Self::default().with_env()
    }

    /// The throughput profile, for bulk indexing and the server: one single-threaded session per
    /// core, each embedding its own batches or requests (measured faster than one session
    /// splitting small work over the cores; a lone query is the opposite, see the README).
    /// Environment overrides still apply.
    pub fn throughput_from_env() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            sessions: cores,
            threads: 1,
            ..Self::default()
        }
        .with_env()
    }

    fn with_env(self) -> Self {
        let mut c = self;
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(v) = var("ASKDESK_MODEL_DIR") {
            c.model_dir = v.into();
        }
        if let Some(v) = var("ASKDESK_ORT_LIB") {
            c.runtime_lib = v.into();
        }
        if let Some(v) = var("ASKDESK_EMBED_POOLING") {
            c.pooling = if v.eq_ignore_ascii_case("cls") {
                PoolingKind::Cls
            } else {
                PoolingKind::Mean
            };
        }
        let number = |name: &str| var(name).and_then(|v| v.parse::<usize>().ok());
        if let Some(n) = number("ASKDESK_EMBED_MAX_LENGTH") {
            c.max_length = n.max(8);
        }
        if let Some(n) = number("ASKDESK_EMBED_THREADS") {
            c.threads = n;
        }
        if let Some(n) = number("ASKDESK_EMBED_SESSIONS") {
            c.sessions = n.max(1);
        }
        c
    }
}

/// Turns texts into L2-normalised vectors. Implementations are blocking: call them from
/// `spawn_blocking` or a worker thread, never directly on the async runtime.
pub trait Embedder: Send + Sync {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Vector length.
    fn dim(&self) -> usize;
    /// Identifies the model and settings; vectors cached under another fingerprint are not reused.
    fn fingerprint(&self) -> &str;
    /// How many `embed` calls can usefully run at once (bulk indexing uses this many threads).
    fn parallelism(&self) -> usize {
        1
    }
}

/// The fastembed implementation over a user-defined ONNX model.
pub struct FastEmbedder {
    sessions: Vec<Mutex<TextEmbedding>>,
    next: std::sync::atomic::AtomicUsize,
    dim: usize,
    fingerprint: String,
}

/// Texts per inference batch when indexing. Small batches keep activations in cache: measured
/// 1.8x the throughput of batch 64 for ~70-token passages on this 2-core machine.
const BATCH: usize = 8;

impl FastEmbedder {
    pub fn load(config: &EmbedderConfig) -> Result<Self, EmbedError> {
        load_runtime(&config.runtime_lib)?;
        let dir = &config.model_dir;
        let model_error = |message: String| EmbedError::Model {
            path: dir.clone(),
            message,
        };
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| model_error(format!("{name}: {e}")))
        };
        let onnx = read("model.onnx")?;
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };
        let fingerprint = {
            let mut h = Sha256::new();
            h.update(&onnx);
            h.update(&tokenizer_files.tokenizer_file);
            h.update(format!("{:?}/{}", config.pooling, config.max_length));
            let digest = h.finalize();
            digest[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let pooling = match config.pooling {
            PoolingKind::Mean => Pooling::Mean,
            PoolingKind::Cls => Pooling::Cls,
        };
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut sessions = Vec::new();
        for _ in 0..config.sessions.max(1) {
            let model = UserDefinedEmbeddingModel::new(onnx.clone(), tokenizer_files.clone())
                .with_pooling(pooling.clone());
            let options = InitOptionsUserDefined::new()
                .with_max_length(config.max_length)
                .with_intra_threads(threads);
            let session = TextEmbedding::try_new_from_user_defined(model, options)
                .map_err(|e| model_error(e.to_string()))?;
            sessions.push(Mutex::new(session));
        }
        let mut embedder = Self {
            sessions,
            next: Default::default(),
            dim: 0,
            fingerprint,
        };
        let probe = embedder.embed(&["dimension probe"])?;
        embedder.dim = probe.first().map_or(0, Vec::len);
        if embedder.dim == 0 {
            return Err(model_error("the model returned an empty vector".into()));
        }
        Ok(embedder)
    }
}

/// Loads the ONNX Runtime shared library once per process.
fn load_runtime(path: &Path) -> Result<(), EmbedError> {
    if !path.exists() {
        return Err(EmbedError::Runtime(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    ort::init_from(&absolute)
        .map(|_| ())
        .map_err(|e| EmbedError::Runtime(e.to_string()))
}

impl Embedder for FastEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Prefer an idle session; otherwise wait on one picked round-robin.
        let session = self
            .sessions
            .iter()
            .find_map(|s| s.try_lock().ok())
            .map(Ok)
            .unwrap_or_else(|| {
                let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.sessions[i % self.sessions.len()].lock()
            });
        let mut session =
            session.map_err(|_| EmbedError::Inference("embedding session poisoned".into()))?;
        session
            .embed(texts, Some(BATCH))
            .map_err(|e| EmbedError::Inference(e.to_string()))
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn parallelism(&self) -> usize {
        self.sessions.len()
    }
}

/// Dot product of two equal-length vectors (cosine for normalised vectors).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise without fast-math.
    let mut acc = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn missing_runtime_is_a_clear_error() {
        let config = EmbedderConfig {
            runtime_lib: "/nonexistent/libonnxruntime.so".into(),
            ..EmbedderConfig::default()
        };
        let err = FastEmbedder::load(&config).err().unwrap().to_string();
        assert!(
            err.contains("scripts/setup.sh") && err.contains("/nonexistent"),
            "{err}"
        );
    }
}
