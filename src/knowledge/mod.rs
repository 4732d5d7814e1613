//! Loading a knowledge folder: `knowledge/<tenant>/tenant.toml` plus Markdown, text and HTML
//! documents, chunked into [`Passage`]s with stable ids.
//!
//! A broken document is reported and skipped so one bad file never takes a brand's whole
//! knowledge base offline; a broken `tenant.toml` skips that tenant only.

mod chunk;
mod html;
mod markdown;
mod tenant;

pub use chunk::{
    is_question, sections, sentences, slugify, split_long, split_markdown, Block, ChunkOptions,
    Section,
};
pub use html::{article as html_article, check_nesting, to_blocks as html_page, Page as HtmlPage};
pub use tenant::{
    default_sensitive_topics, is_plausible_email, BrandIntent, HandoffField, SensitiveTopic,
    TenantConfig,
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What went wrong with a tenant or one of its documents; each renders as one line naming it.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The tenant's `tenant.toml` is missing or invalid.
    #[error("{}: {message}", path.display())]
    Tenant { path: PathBuf, message: String },
    /// A document could not be read or parsed.
    #[error("{}: {message}", path.display())]
    Document { path: PathBuf, message: String },
    /// A folder that should be a tenant or knowledge root is not usable.
    #[error("{}: {message}", path.display())]
    Folder { path: PathBuf, message: String },
    /// The tenant id asked for does not exist.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
}

/// The kind of document a passage comes from; policies are quoted sentence by sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    Faq,
    Policy,
    #[default]
    Page,
}

/// One retrievable unit of a tenant's knowledge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    /// `<tenant>/<file path without extension>#<heading slug>`: stable across re-indexing.
    pub id: String,
    pub tenant: String,
    /// Document title followed by the section headings.
    pub heading_path: Vec<String>,
    /// The FAQ question, when the passage is a question and its answer.
    pub question: Option<String>,
    pub text: String,
    pub url: Option<String>,
    pub kind: DocKind,
    pub updated: Option<String>,
}

impl Passage {
    /// The passage's own heading (its question for FAQ passages).
    pub fn heading(&self) -> &str {
        self.question
            .as_deref()
            .or(self.heading_path.last().map(String::as_str))
            .unwrap_or("")
    }

    /// Human-readable title for citations: "Document › Section".
    pub fn title(&self) -> String {
        self.heading_path.join(" › ")
    }

    /// The two texts the dense retriever embeds: the question or heading, and the whole passage.
    /// The brand name is left out of both: inside one tenant it is in most passages and many
    /// questions, so it only adds similarity that says nothing about the topic (it made "Is there
    /// a FictArt app?" look close to an unrelated passage that names FictArt).
    pub fn texts_for_embedding(&self, brand: &str) -> (String, String) {
        let head = without_brand(self.heading(), brand);
        let body = format!("{head}\n{}", without_brand(&self.text, brand));
        (head, body)
    }

    /// The sentences of a passage as embedded for sentence-level matching, brand left out.
    /// A customer's question often matches one rule of a long passage, or one item of a list of
    /// tips or options, much better than the whole passage, whose other sentences dilute its
    /// vector. Other passages have none: a short passage of prose is represented well by its own
    /// vectors, and leaving them out keeps indexing a FAQ of short answers as fast as without
    /// sentence vectors (each would cost one more embedding per sentence). Fragments of
    /// [`MIN_SENTENCE_CHARS`] characters or fewer are skipped: they match everything a little.
    pub fn sentences_for_embedding(&self, brand: &str) -> Vec<String> {
        self.embedded_sentences()
            .into_iter()
            .map(|s| without_brand(s, brand))
            .collect()
    }

    /// The sentences that get vectors of their own (see [`Passage::sentences_for_embedding`]),
    /// as they appear in the text: row `i` of the passage's sentence vectors is sentence `i`.
    pub fn embedded_sentences(&self) -> Vec<&str> {
        let text = self.text.trim();
        if text.chars().count() <= LONG_PASSAGE_CHARS && !has_list(text) {
            return Vec::new();
        }
        let kept: Vec<&str> = sentences(text)
            .into_iter()
            .filter(|s| s.chars().count() > MIN_SENTENCE_CHARS)
            .collect();
        if kept.len() < 2 {
            return Vec::new();
        }
        kept
    }

    /// Hash of everything that defines the passage; a changed hash means re-index.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [
            self.id.as_str(),
            &self.heading_path.join("\u{1f}"),
            self.question.as_deref().unwrap_or("\u{0}"),
            &self.text,
            self.url.as_deref().unwrap_or("\u{0}"),
            &format!("{:?}", self.kind),
            self.updated.as_deref().unwrap_or("\u{0}"),
        ] {
            h.update(part.as_bytes());
            h.update([0x1e]);
        }
        h.finalize().into()
    }
}

/// True when a brand name found between `before` and `after` is a word of its own, not part of
/// a longer word, an e-mail address or a domain ("support@fictart.com" keeps its brand).
fn is_word_boundary(before: &str, after: &str) -> bool {
    let joins = |c: char| c.is_alphanumeric() || matches!(c, '@' | '.' | '-' | '/' | '_');
    let before_ok = before.chars().next_back().is_none_or(|c| !joins(c));
    let mut next = after.chars();
    let after_ok = match next.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || c == '@' || c == '_' => false,
        // a sentence's full stop or a hyphen at the end is a boundary; "fictart.com" is not
        Some('.' | '-' | '/') => next.next().is_none_or(|c| !c.is_alphanumeric()),
        Some(_) => true,
    };
    before_ok && after_ok
}

/// True when `text` holds a list of two items or more (see [`is_list_item`]).
fn has_list(text: &str) -> bool {
    text.lines().filter(|l| is_list_item(l)).count() >= 2
}

/// True for a line that is a list item or a numbered step, as passages show them (`- `, `3. `)
/// or as plain text writes them (`* `, `+ `).
pub fn is_list_item(line: &str) -> bool {
    let line = line.trim_start();
    let numbered = line
        .split_once(". ")
        .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    numbered || ["- ", "* ", "+ "].iter().any(|m| line.starts_with(m))
}

const MIB: u64 = 1024 * 1024;

/// Largest document read. A help-center page is far smaller; a file this big is an export or a
/// dump, and indexing it would take minutes and gigabytes (a 20 MB page: 3.5 min, 1.85 GB).
pub const MAX_DOCUMENT_BYTES: u64 = 4 * MIB;

/// Passages longer than this are matched sentence by sentence too, and quoted in part.
pub const LONG_PASSAGE_CHARS: usize = 400;

/// Sentences this short are not embedded on their own (see
/// [`Passage::sentences_for_embedding`]).
pub const MIN_SENTENCE_CHARS: usize = 15;

/// `text` with every case-insensitive occurrence of `brand` (and a following "'s") removed.
pub fn without_brand(text: &str, brand: &str) -> String {
    let brand = brand.trim();
    let lower = text.to_lowercase();
    let needle = brand.to_lowercase();
    // Lowercasing must keep byte offsets for the cut to be right; otherwise keep the text.
    if needle.is_empty() || lower.len() != text.len() || !lower.contains(&needle) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(&needle) {
        let start = from + found;
        let end = start + needle.len();
        from = end;
        if !is_word_boundary(&lower[..start], &lower[end..]) {
            continue;
        }
        out.push_str(&text[rest..start]);
        rest = end;
        for suffix in ["'s", "’s"] {
            if lower[rest..].starts_with(suffix) {
                rest += suffix.len();
            }
        }
        from = rest;
    }
    out.push_str(&text[rest..]);
    out.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Optional YAML front matter of a Markdown document.
#[derive(Debug, Default, Deserialize)]
struct FrontMatter {
    title: Option<String>,
    url: Option<String>,
    kind: Option<DocKind>,
    updated: Option<String>,
}

/// A tenant as loaded from disk.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub config: TenantConfig,
    pub passages: Vec<Passage>,
}

/// Checks a tenant id: lowercase letters, digits, `-` and `_`, as used in URLs and file names.
pub fn is_valid_tenant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Lists the tenant folders under `root` (sorted), without loading them.
pub fn tenant_ids(root: &Path) -> Result<Vec<String>, KnowledgeError> {
    let folder_error = |message: String| KnowledgeError::Folder {
        path: root.to_path_buf(),
        message,
    };
    let entries = std::fs::read_dir(root).map_err(|e| folder_error(e.to_string()))?;
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    ids.sort();
    Ok(ids)
}

/// Loads one tenant. Document problems come back as warnings beside the tenant.
pub fn load_tenant(
    root: &Path,
    id: &str,
    options: ChunkOptions,
) -> Result<(Tenant, Vec<KnowledgeError>), KnowledgeError> {
    let dir = root.join(id);
    if !is_valid_tenant_id(id) {
        return Err(KnowledgeError::Folder {
            path: dir,
            message: "tenant folder names may only use a-z, 0-9, '-' and '_'".into(),
        });
    }
    if !dir.is_dir() {
        return Err(KnowledgeError::UnknownTenant(id.to_string()));
    }
    let config = TenantConfig::load(&dir.join("tenant.toml"))?;
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    collect_documents(&dir, &mut files, &mut warnings);
    files.sort();
    let mut passages = Vec::new();
    for file in files {
        match load_document(id, &dir, &file, options) {
            Ok(mut found) => passages.append(&mut found),
            Err(e) => warnings.push(e),
        }
    }
    Ok((
        Tenant {
            id: id.to_string(),
            config,
            passages,
        },
        warnings,
    ))
}

/// The documents under a tenant folder, and warnings for the links left out. A linked folder is
/// never followed: a link back up (`selfdir -> .`) would walk forever and one out of the folder
/// would index files that are not the brand's. A linked file is read when it stays inside the
/// tenant folder (as the files of a mounted configuration volume do).
fn collect_documents(dir: &Path, out: &mut Vec<PathBuf>, warnings: &mut Vec<KnowledgeError>) {
    let Ok(root) = dir.canonicalize() else {
        return;
    };
    walk_documents(dir, &root, out, warnings);
}

/// The documents under `dir` (sorted), by the tenant folder's rules for links, and a warning
/// per link or name left out.
pub fn documents_in(dir: &Path) -> (Vec<PathBuf>, Vec<KnowledgeError>) {
    let (mut files, mut warnings) = (Vec::new(), Vec::new());
    collect_documents(dir, &mut files, &mut warnings);
    files.sort();
    (files, warnings)
}

fn walk_documents(
    dir: &Path,
    root: &Path,
    out: &mut Vec<PathBuf>,
    warnings: &mut Vec<KnowledgeError>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if name.starts_with('.') {
            continue;
        }
        if name.chars().any(char::is_control) {
            // the warning stays one line: the name is shown escaped
            warnings.push(KnowledgeError::Document {
                path: dir.join(name.escape_debug().to_string()),
                message: "a name with a line break or another control character, not read".into(),
            });
            continue;
        }
        let mut skip = |message: &str| {
            warnings.push(KnowledgeError::Document {
                path: path.clone(),
                message: message.into(),
            })
        };
        if !is_link && path.is_dir() {
            walk_documents(&path, root, out, warnings);
        } else if is_link && path.is_dir() {
            skip("a link to a folder, not followed");
        } else if document_format(&path).is_none() {
            continue;
        } else if is_link
            && !path
                .canonicalize()
                .is_ok_and(|target| target.starts_with(root) && target.is_file())
        {
            skip("a link to a file outside the tenant folder (or to nothing), not read");
        } else {
            out.push(path);
        }
    }
}

/// The kinds of document a knowledge folder holds, by file extension.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// `.md`, `.markdown`: CommonMark with optional YAML front matter.
    Markdown,
    /// `.txt`
    Text,
    /// `.html`, `.htm`
    Html,
}

/// The format of a document file, by its extension; None for files that are not documents.
pub fn document_format(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "md" | "markdown" => Some(Format::Markdown),
        "txt" => Some(Format::Text),
        "html" | "htm" => Some(Format::Html),
        _ => None,
    }
}

/// Reads one document and chunks it into passages.
pub fn load_document(
    tenant: &str,
    tenant_dir: &Path,
    path: &Path,
    options: ChunkOptions,
) -> Result<Vec<Passage>, KnowledgeError> {
    let (format, text) = read_document(path)?;
    let error = |message: String| KnowledgeError::Document {
        path: path.to_path_buf(),
        message,
    };
    let relative = path
        .strip_prefix(tenant_dir)
        .unwrap_or(path)
        .with_extension("");
    let doc_path = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    parse_document(tenant, &doc_path, format, &text, options).map_err(error)
}

/// A document file's format and text: a known file type, at most [`MAX_DOCUMENT_BYTES`], UTF-8.
pub fn read_document(path: &Path) -> Result<(Format, String), KnowledgeError> {
    let error = |message: String| KnowledgeError::Document {
        path: path.to_path_buf(),
        message,
    };
    let format = document_format(path).ok_or_else(|| error("unsupported file type".into()))?;
    let size = std::fs::metadata(path)
        .map_err(|e| error(e.to_string()))?
        .len();
    if size > MAX_DOCUMENT_BYTES {
        return Err(error(format!(
            "{:.1} MiB, over the {} MiB a document may have; split it into pages",
            size as f64 / MIB as f64,
            MAX_DOCUMENT_BYTES / MIB
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        error(format!(
            "not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok((format, text))
}

/// Parses one document's text into passages: `doc_path` is its path in the tenant folder
/// without the extension (the middle of the passage ids; its last part titles a document
/// that names no title). The error says what is wrong with the text.
pub fn parse_document(
    tenant: &str,
    doc_path: &str,
    format: Format,
    text: &str,
    options: ChunkOptions,
) -> Result<Vec<Passage>, String> {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    if text.trim().is_empty() {
        return Err("empty document".into());
    }
    let fallback_title = humanize(doc_path.rsplit('/').next());
    let (front, title, blocks) = match format {
        Format::Markdown => {
            let (front, body) = split_front_matter(&text)?;
            let title = front.title.clone().unwrap_or(fallback_title);
            (front, title, markdown::blocks(body))
        }
        Format::Html => {
            html::check_nesting(&text)?;
            let page = html::to_blocks(&text);
            let front = FrontMatter {
                url: page.canonical,
                ..FrontMatter::default()
            };
            (front, page.title.unwrap_or(fallback_title), page.blocks)
        }
        Format::Text => (
            FrontMatter::default(),
            fallback_title,
            chunk::text_blocks(&text),
        ),
    };
    let sections = sections(&title, blocks, options);
    if sections.is_empty() {
        return Err("no text to index".into());
    }
    let kind = front.kind.unwrap_or_default();
    Ok(sections
        .into_iter()
        .map(|s| Passage {
            id: format!("{tenant}/{doc_path}#{}", s.slug),
            tenant: tenant.to_string(),
            heading_path: s.heading_path,
            kind: if s.question.is_some() && front.kind.is_none() {
                DocKind::Faq
            } else {
                kind
            },
            question: s.question,
            text: s.text,
            url: front.url.clone(),
            updated: front.updated.clone(),
        })
        .collect())
}

/// Splits `---` YAML front matter from the body; a document without it has default metadata.
fn split_front_matter(text: &str) -> Result<(FrontMatter, &str), String> {
    let Some(rest) = text.strip_prefix("---\n") else {
        return Ok((FrontMatter::default(), text));
    };
    let end = rest
        .find("\n---\n")
        .map(|i| (i, i + 5))
        .or_else(|| {
            rest.ends_with("\n---")
                .then(|| (rest.len() - 4, rest.len()))
        })
        .ok_or("front matter opened with --- is never closed")?;
    let yaml = &rest[..end.0];
    let front: FrontMatter = if yaml.trim().is_empty() {
        FrontMatter::default()
    } else {
        serde_yaml::from_str(yaml).map_err(|e| format!("broken front matter: {e}"))?
    };
    Ok((front, &rest[end.1..]))
}

/// "refund-policy" → "Refund policy".
fn humanize(stem: Option<&str>) -> String {
    let words = stem.unwrap_or("document").replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Document".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, content: &[u8]) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn tenant_dir() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        write(
            root.path(),
            "acme/tenant.toml",
            b"name = \"Acme\"\nsupport_email = \"help@acme.test\"\n",
        );
        root
    }

    /// A real help center (Hugging Face Hub docs, in the shared development data): every page
    /// loads, no passage shows Markdown or HTML syntax, every heading level is in a heading
    /// path, and passages fit the embedder.
    #[test]
    fn a_real_help_center_becomes_clean_passages() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/devdesk/knowledge");
        let (t, warnings) = load_tenant(&root, "huggingface", ChunkOptions::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(t.passages.len() > 100, "{}", t.passages.len());
        // the pages' own heading lines (outside code blocks), as written in Markdown
        let mut raw_headings = std::collections::HashSet::new();
        let mut code_lines = std::collections::HashSet::new();
        for entry in std::fs::read_dir(root.join("huggingface")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut fenced = false;
            for line in text.lines() {
                fenced ^= line.trim_start().starts_with("```");
                if fenced {
                    code_lines.insert(line.trim().to_string());
                } else if line.starts_with('#') {
                    raw_headings.insert(line.trim().to_string());
                }
            }
        }
        assert!(raw_headings.len() > 100);
        let markup = |line: &str| {
            !code_lines.contains(line)
                && (raw_headings.contains(line)
                    || line.starts_with('|')
                    || line.contains("](")
                    || line.contains("<br")
                    || line.contains("</")
                    || line.starts_with(":::"))
        };
        for p in &t.passages {
            for line in p.text.lines() {
                assert!(!markup(line.trim()), "{}: {line:?}", p.id);
            }
            for heading in &p.heading_path {
                assert!(
                    !heading.starts_with('#') && !heading.contains("**"),
                    "{heading:?}"
                );
            }
            // sized for the embedder, unless one line cannot be cut (a key in a code block)
            let uncuttable = sentences(&p.text).iter().any(|s| s.chars().count() > 800);
            assert!(
                p.text.chars().count() <= 1000 || uncuttable,
                "{} is {} chars: {}",
                p.id,
                p.text.len(),
                p.text
            );
        }
        let deep = t
            .passages
            .iter()
            .filter(|p| p.heading_path.len() >= 4)
            .count();
        assert!(deep > 0, "level-3 headings are in heading paths");
        let faq = t.passages.iter().filter(|p| p.question.is_some()).count();
        assert!(faq >= 10, "bold Q. paragraphs are FAQ questions ({faq})");
        let rows = t
            .passages
            .iter()
            .filter(|p| {
                p.text
                    .lines()
                    .any(|l| l.contains(" — ") && l.contains(": "))
            })
            .count();
        assert!(rows > 0, "table rows read as lines");
    }

    #[test]
    fn front_matter_and_faq_ids() {
        let root = tenant_dir();
        write(root.path(), "acme/policies/refunds.md", b"---\ntitle: Refund policy\nurl: https://acme.test/refunds\nkind: policy\nupdated: 2026-01-02\n---\n## Subscriptions\nRefunds within 14 days.\n");
        let (t, warnings) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        assert!(warnings.is_empty());
        let p = &t.passages[0];
        assert_eq!(p.id, "acme/policies/refunds#subscriptions");
        assert_eq!(p.title(), "Refund policy › Subscriptions");
        assert_eq!(p.url.as_deref(), Some("https://acme.test/refunds"));
        assert_eq!(p.kind, DocKind::Policy);
        assert_eq!(p.updated.as_deref(), Some("2026-01-02"));
    }

    #[test]
    fn html_and_text_documents_are_ingested() {
        let root = tenant_dir();
        write(
            root.path(),
            "acme/help.html",
            b"<title>Help</title><h2>Do you ship?</h2><p>Yes.</p><script>x()</script>",
        );
        write(
            root.path(),
            "acme/notes.txt",
            b"Plain notes about shipping.",
        );
        let (t, _) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        let ids: Vec<_> = t.passages.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["acme/help#do-you-ship", "acme/notes#notes"]);
        assert_eq!(t.passages[0].kind, DocKind::Faq);
        assert_eq!(t.passages[0].text, "Yes.");
    }

    #[test]
    fn bad_documents_are_warnings_and_the_rest_is_indexed() {
        let root = tenant_dir();
        write(root.path(), "acme/good.md", b"## Is it good?\nYes.");
        write(root.path(), "acme/empty.md", b"  \n");
        write(root.path(), "acme/latin1.txt", &[0x63, 0x61, 0x66, 0xe9]);
        write(
            root.path(),
            "acme/broken.md",
            b"---\ntitle: [unclosed\n---\ntext",
        );
        write(root.path(), "acme/open.md", b"---\ntitle: x\ntext");
        let (t, warnings) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        assert_eq!(t.passages.len(), 1);
        let lines: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        let find = |name: &str| lines.iter().find(|l| l.contains(name)).unwrap().clone();
        assert!(find("empty.md").contains("empty document"));
        assert!(find("latin1.txt").contains("UTF-8"));
        assert!(find("broken.md").contains("broken front matter"));
        assert!(find("open.md").contains("never closed"));
        assert!(lines.iter().all(|l| !l.contains('\n')));
    }

    #[test]
    fn a_document_over_the_size_limit_is_a_warning_and_the_rest_is_indexed() {
        let root = tenant_dir();
        write(root.path(), "acme/help.md", b"## Is it good?\nYes.");
        let big = "Some words of a very long export. ".repeat(130_000);
        assert!(big.len() as u64 > MAX_DOCUMENT_BYTES);
        write(root.path(), "acme/export.md", big.as_bytes());
        let (t, warnings) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        assert_eq!(t.passages.len(), 1);
        let lines: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("export.md") && lines[0].contains("4 MiB"),
            "{lines:?}"
        );
    }

    #[test]
    fn names_with_control_characters_are_warnings_not_passage_ids() {
        let root = tenant_dir();
        write(root.path(), "acme/help.md", b"## Is it good?\nYes.");
        write(root.path(), "acme/two\nlines.md", b"## Odd?\nYes.");
        write(root.path(), "acme/tab\tdir/doc.md", b"## Odder?\nYes.");
        let (t, warnings) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        let ids: Vec<&str> = t.passages.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["acme/help#is-it-good"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings.iter().all(|w| {
                let line = w.to_string();
                line.contains("control character") && !line.contains('\n') && !line.contains('\t')
            }),
            "{warnings:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn linked_folders_are_not_followed_and_linked_files_only_inside_the_tenant() {
        use std::os::unix::fs::symlink;
        let root = tenant_dir();
        write(root.path(), "acme/help.md", b"## Is it good?\nYes.");
        write(root.path(), "acme/sub/more.md", b"## And more?\nAlso yes.");
        write(root.path(), "secret.md", b"## Not the brand's\nPrivate.");
        let dir = root.path().join("acme");
        symlink(".", dir.join("selfdir")).unwrap();
        symlink("..", dir.join("sub/up")).unwrap();
        symlink(root.path().join("secret.md"), dir.join("outside.md")).unwrap();
        symlink(dir.join("sub/more.md"), dir.join("shared.md")).unwrap();
        symlink(dir.join("missing.md"), dir.join("dangling.md")).unwrap();
        let (t, warnings) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        let mut ids: Vec<&str> = t.passages.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [
                "acme/help#is-it-good",
                "acme/shared#and-more",
                "acme/sub/more#and-more"
            ]
        );
        assert!(t.passages.iter().all(|p| p.text != "Private."));
        let lines: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        for name in ["selfdir", "up", "outside.md", "dangling.md"] {
            assert!(lines.iter().any(|l| l.contains(name)), "{name}: {lines:?}");
        }
    }

    #[test]
    fn tenant_errors_name_the_file_or_tenant() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "nomail/tenant.toml", b"name = \"No mail\"\n");
        write(root.path(), "notoml/doc.md", b"text");
        let e = load_tenant(root.path(), "nomail", ChunkOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nomail/tenant.toml") && e.contains("support_email"),
            "{e}"
        );
        let e = load_tenant(root.path(), "notoml", ChunkOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("notoml/tenant.toml") && e.contains("missing"),
            "{e}"
        );
        let e = load_tenant(root.path(), "ghost", ChunkOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unknown tenant \"ghost\"");
        let e = load_tenant(root.path(), "../etc", ChunkOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("a-z"), "{e}");
    }

    #[test]
    fn brand_names_are_left_out_of_embedded_text() {
        assert_eq!(
            without_brand("Is there a FictArt app?", "FictArt"),
            "Is there a app?"
        );
        assert_eq!(
            without_brand("FICTART's plans and fictart’s tools", "FictArt"),
            "plans and tools"
        );
        assert_eq!(without_brand("no brand here", "FictArt"), "no brand here");
        // addresses, domains and longer words keep the brand; a sentence's end does not
        assert_eq!(
            without_brand(
                "Write to service@fictart.com or see fictart.com/help.",
                "FictArt"
            ),
            "Write to service@fictart.com or see fictart.com/help."
        );
        assert_eq!(
            without_brand("Welcome to FictArt.", "FictArt"),
            "Welcome to ."
        );
        assert_eq!(
            without_brand("FictArtists unite", "FictArt"),
            "FictArtists unite"
        );
        assert_eq!(without_brand("anything", ""), "anything");
    }

    #[test]
    fn sentences_are_embedded_one_by_one_without_fragments_or_the_brand() {
        let passage = Passage {
            id: "acme/a#b".into(),
            tenant: "acme".into(),
            heading_path: vec!["Support".into()],
            question: None,
            text: format!(
                "Acme support hours are Monday to Friday. Thanks!\n- Email the support team for anything else.\n{}",
                "Our team reviews every request carefully. ".repeat(8)
            ),
            url: None,
            kind: DocKind::Policy,
            updated: None,
        };
        let sentences = passage.sentences_for_embedding("Acme");
        assert_eq!(
            sentences[..2],
            [
                "support hours are Monday to Friday.",
                "- Email the support team for anything else."
            ]
        );
        assert_eq!(sentences.len(), 10);
        let short = Passage {
            text: "Acme support hours are Monday to Friday. Email us for anything else.".into(),
            ..passage.clone()
        };
        assert!(short.sentences_for_embedding("Acme").is_empty());
        let list = Passage {
            text: "Tips:\n- Describe the steps to reproduce it.\n1. Include your account email."
                .into(),
            ..passage.clone()
        };
        assert_eq!(
            list.sentences_for_embedding("Acme"),
            [
                "- Describe the steps to reproduce it.",
                "1. Include your account email."
            ]
        );
        // a one-item list is matched by the passage's own vectors already
        let one_item = Passage {
            text: "Tips:\n- Describe the steps to reproduce it.".into(),
            ..passage
        };
        assert!(one_item.sentences_for_embedding("Acme").is_empty());
    }

    #[test]
    fn content_hash_changes_with_text_only() {
        let root = tenant_dir();
        write(root.path(), "acme/a.md", b"## Q?\nA.");
        let (a, _) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        let (b, _) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        assert_eq!(a.passages[0].content_hash(), b.passages[0].content_hash());
        write(root.path(), "acme/a.md", b"## Q?\nB.");
        let (c, _) = load_tenant(root.path(), "acme", ChunkOptions::default()).unwrap();
        assert_ne!(a.passages[0].content_hash(), c.passages[0].content_hash());
    }
}
