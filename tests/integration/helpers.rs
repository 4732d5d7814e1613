//! Shared set-up: the real embedder (loaded once per process) and throw-away knowledge folders.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use askdesk::embed::{Embedder, EmbedderConfig, FastEmbedder};

/// The real MiniLM model installed by `scripts/setup.sh`.
pub fn embedder() -> Arc<dyn Embedder> {
    static EMBEDDER: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let config = EmbedderConfig::from_env();
            Arc::new(FastEmbedder::load(&config).expect("run scripts/setup.sh first"))
        })
        .clone()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `files` (path relative to `root`, content) into a folder.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// A knowledge folder with one tenant `acme` holding the given documents.
pub fn acme_knowledge(docs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "acme/tenant.toml",
            "name = \"Acme\"\nsupport_email = \"help@acme.test\"\n",
        )],
    );
    let docs: Vec<(String, &str)> = docs
        .iter()
        .map(|(p, c)| (format!("acme/{p}"), *c))
        .collect();
    let docs: Vec<(&str, &str)> = docs.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    write_files(dir.path(), &docs);
    dir
}

/// An HTTP client for talking to the test servers. The TLS provider must be installed before
/// any reqwest client is built (see `askdesk::llm::install_tls_provider`).
pub fn http_client() -> reqwest::Client {
    askdesk::llm::install_tls_provider();
    reqwest::Client::new()
}
