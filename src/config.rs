//! The service's configuration: built-in defaults, then an optional TOML file, then environment
//! variables, then command-line flags (each overriding the one before). Every setting has one
//! key here; the environment variables of earlier versions (`ASKDESK_BIND`, `OPENAI_BASE_URL`,
//! ...) are mapped explicitly onto those keys by [`ENV_VARS`]. `askdesk.example.toml` documents
//! every key with its default.
//!
//! Unknown keys are refused (a typo is an error, never a silently ignored setting), and errors
//! name the key and where it came from but never echo a value, so a secret that lands in the
//! wrong place is not printed.

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// A secret string (API key, password, SMTP URL with credentials) whose `Debug` output never
/// shows its value; read it with [`Secret::expose`] only where it is used.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it (an Authorization header, the SMTP login).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison: the time taken does not reveal how many bytes matched.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything `askdesk serve` can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address to listen on.
    pub bind: String,
    /// Knowledge folder: one sub-folder per tenant.
    pub knowledge: PathBuf,
    /// Data folder: indexes, caches, the SQLite store, the `.eml` outbox.
    pub data: PathBuf,
    /// The store: `sqlite://PATH` or `postgres://…` (several replicas share one PostgreSQL
    /// database). Unset: the SQLite file `askdesk.db` in the data folder. A secret, since a
    /// server URL can carry a password.
    #[serde(deserialize_with = "non_blank_secret")]
    pub database_url: Option<Secret>,
    /// Static files served at `/` (widget and demo pages).
    pub web: PathBuf,
    pub keys: KeysConfig,
    pub rate_limit: RateLimitConfig,
    pub llm: LlmSettings,
    pub smtp: SmtpSettings,
    pub outbox: OutboxSettings,
    pub replicas: ReplicaSettings,
    pub retention: RetentionSettings,
    pub sync: SyncSettings,
    pub answers: AnswerSettings,
    pub cors: CorsConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            knowledge: "knowledge".into(),
            data: "data".into(),
            database_url: None,
            web: "web".into(),
            keys: KeysConfig::default(),
            rate_limit: RateLimitConfig::default(),
            llm: LlmSettings::default(),
            smtp: SmtpSettings::default(),
            outbox: OutboxSettings::default(),
            replicas: ReplicaSettings::default(),
            retention: RetentionSettings::default(),
            sync: SyncSettings::default(),
            answers: AnswerSettings::default(),
            cors: CorsConfig::default(),
        }
    }
}

/// The admin key (guards `/api/admin/*`; unset means the admin API is closed) and the
/// server-to-server keys of the OpenAI-compatible endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    #[serde(deserialize_with = "non_blank_secret")]
    pub admin: Option<Secret>,
    #[serde(deserialize_with = "non_blank_secrets")]
    pub api: Vec<Secret>,
}

/// Token buckets: `per_minute` is the sustained rate, `burst` how many may come at once.
/// `0` per minute switches a limit off.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests to the public `/api/v1/*` routes per client IP.
    pub per_ip_per_minute: u32,
    pub per_ip_burst: u32,
    /// Answers (chat turns, escalations, completions) per tenant, across all clients.
    pub per_tenant_per_minute: u32,
    pub per_tenant_burst: u32,
    /// Take the client IP from the last `X-Forwarded-For` entry (set by your reverse proxy).
    /// Leave off when clients reach askdesk directly: they could send any address.
    pub trust_forwarded_for: bool,
}

impl RateLimitConfig {
    /// No limits at all (benchmarks, tests).
    pub fn off() -> Self {
        Self {
            per_ip_per_minute: 0,
            per_tenant_per_minute: 0,
            ..Self::default()
        }
    }
}

impl Default for RateLimitConfig {
    /// Sized for people typing into a support widget: a person sends a message every few
    /// seconds at most, and a page load adds one config request, so 30 a minute with 20 at
    /// once never slows a person down (even a few behind one office NAT) but stops a script.
    /// A brand answers a few hundred customers a minute at most; beyond that a tenant is
    /// being scripted (or its LLM bill is being run up).
    fn default() -> Self {
        Self {
            per_ip_per_minute: 30,
            per_ip_burst: 20,
            per_tenant_per_minute: 300,
            per_tenant_burst: 100,
            trust_forwarded_for: false,
        }
    }
}

/// An OpenAI-compatible endpoint; without `base_url` answers are extractive.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    pub base_url: Option<String>,
    pub api_key: Secret,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// A model slower than this to its first token counts as unavailable.
    pub first_token_timeout_ms: u64,
    /// Longest wait for a whole answer.
    pub timeout_ms: u64,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            api_key: Secret::new("none"),
            model: "default".into(),
            temperature: 0.0,
            max_tokens: 300,
            first_token_timeout_ms: 10_000,
            timeout_ms: 30_000,
        }
    }
}

impl LlmSettings {
    /// The client configuration, or None in extractive mode (no `base_url`).
    pub fn client_config(&self) -> Option<crate::llm::LlmConfig> {
        let base_url = self.base_url.clone().filter(|u| !u.trim().is_empty())?;
        Some(crate::llm::LlmConfig {
            base_url,
            api_key: self.api_key.clone(),
            model: self.model.clone(),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            first_token_timeout: std::time::Duration::from_millis(self.first_token_timeout_ms),
            total_timeout: std::time::Duration::from_millis(self.timeout_ms),
        })
    }
}

/// Where handoff emails go: SMTP when `url` is set, else `.eml` files in `<data>/outbox/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// lettre SMTP URL; may carry a password, so it is a secret.
    #[serde(deserialize_with = "non_blank_secret")]
    pub url: Option<Secret>,
    pub from: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            url: None,
            from: "askdesk <askdesk@localhost>".into(),
        }
    }
}

/// How the outbox worker spaces delivery attempts (see [`crate::escalate::RetryPolicy`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// How often the worker looks for due tickets when no new ticket wakes it.
    pub poll_interval_ms: u64,
    /// Delay after the first failed attempt; doubled after each further failure.
    pub first_retry_delay_ms: u64,
    pub max_retry_delay_ms: u64,
    /// After this many failed attempts a ticket is `failed` (an admin can retry it).
    pub max_attempts: u32,
    /// How long a claim on a ticket lasts before another worker may take it.
    pub claim_lease_ms: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self::from(crate::escalate::RetryPolicy::default())
    }
}

impl From<crate::escalate::RetryPolicy> for OutboxSettings {
    fn from(p: crate::escalate::RetryPolicy) -> Self {
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            poll_interval_ms: ms(p.poll_interval),
            first_retry_delay_ms: ms(p.first_delay),
            max_retry_delay_ms: ms(p.max_delay),
            max_attempts: p.max_attempts,
            claim_lease_ms: ms(p.claim_lease),
        }
    }
}

impl OutboxSettings {
    pub fn retry_policy(&self) -> crate::escalate::RetryPolicy {
        use std::time::Duration;
        crate::escalate::RetryPolicy {
            first_delay: Duration::from_millis(self.first_retry_delay_ms),
            max_delay: Duration::from_millis(self.max_retry_delay_ms),
            max_attempts: self.max_attempts.max(1),
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(1)),
            claim_lease: Duration::from_millis(self.claim_lease_ms.max(1)),
        }
    }
}

/// Several `askdesk serve` on one database.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicaSettings {
    /// How often a replica looks whether another one re-indexed (then it re-indexes too).
    pub follow_interval_ms: u64,
}

impl Default for ReplicaSettings {
    fn default() -> Self {
        Self {
            follow_interval_ms: 5_000,
        }
    }
}

/// How long a question may wait for an embedding session before the service says it is busy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerSettings {
    /// A replica asked more than its cores can answer would otherwise queue without bound,
    /// every customer waiting longer and memory growing; past this wait the question gets 503
    /// `unavailable` with `Retry-After`, and a load balancer can send it elsewhere. 0: no limit.
    pub queue_timeout_ms: u64,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        Self {
            queue_timeout_ms: 2_000,
        }
    }
}

/// When the brands' website sources are synced.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// How often the service looks whether a source's `every` has come round (and once at
    /// start-up).
    pub check_interval_ms: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            check_interval_ms: 60 * 1000,
        }
    }
}

/// When the brands' `retention_days` are applied.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// How often expired conversations and tickets are deleted (and once at start-up).
    pub interval_ms: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            interval_ms: 60 * 60 * 1000,
        }
    }
}

/// CORS of the public API; the allowed origins themselves are per tenant (`tenant.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Admit requests whose `Origin` is the service's own (the demo pages and widget it serves).
    pub allow_same_origin: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allow_same_origin: true,
        }
    }
}

/// Blank values count as unset, as they always did for the environment variables.
fn non_blank_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let value = Option::<Secret>::deserialize(d)?;
    Ok(value
        .map(|s| s.0.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(Secret))
}

fn non_blank_secrets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
    let values = Vec::<Secret>::deserialize(d)?;
    Ok(values
        .into_iter()
        .map(|s| s.0.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(Secret)
        .collect())
}

/// How an environment variable becomes a config value.
#[derive(Clone, Copy)]
enum EnvValue {
    Scalar,
    /// Comma-separated list.
    List,
}

/// Every environment variable askdesk reads for its configuration, and the key it sets.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("ASKDESK_BIND", "bind"),
    ("ASKDESK_KNOWLEDGE", "knowledge"),
    ("ASKDESK_DATA", "data"),
    ("ASKDESK_DATABASE_URL", "database_url"),
    ("ASKDESK_WEB", "web"),
    ("ASKDESK_ADMIN_KEY", "keys.admin"),
    ("ASKDESK_API_KEYS", "keys.api"),
    (
        "ASKDESK_RATE_LIMIT_PER_IP_PER_MINUTE",
        "rate_limit.per_ip_per_minute",
    ),
    ("ASKDESK_RATE_LIMIT_PER_IP_BURST", "rate_limit.per_ip_burst"),
    (
        "ASKDESK_RATE_LIMIT_PER_TENANT_PER_MINUTE",
        "rate_limit.per_tenant_per_minute",
    ),
    (
        "ASKDESK_RATE_LIMIT_PER_TENANT_BURST",
        "rate_limit.per_tenant_burst",
    ),
    (
        "ASKDESK_TRUST_FORWARDED_FOR",
        "rate_limit.trust_forwarded_for",
    ),
    ("OPENAI_BASE_URL", "llm.base_url"),
    ("OPENAI_API_KEY", "llm.api_key"),
    ("ASKDESK_LLM_MODEL", "llm.model"),
    ("ASKDESK_LLM_TEMPERATURE", "llm.temperature"),
    ("ASKDESK_LLM_MAX_TOKENS", "llm.max_tokens"),
    (
        "ASKDESK_LLM_FIRST_TOKEN_TIMEOUT_MS",
        "llm.first_token_timeout_ms",
    ),
    ("ASKDESK_LLM_TIMEOUT_MS", "llm.timeout_ms"),
    ("ASKDESK_SMTP_URL", "smtp.url"),
    ("ASKDESK_SMTP_FROM", "smtp.from"),
    ("ASKDESK_OUTBOX_POLL_INTERVAL_MS", "outbox.poll_interval_ms"),
    (
        "ASKDESK_OUTBOX_FIRST_RETRY_DELAY_MS",
        "outbox.first_retry_delay_ms",
    ),
    (
        "ASKDESK_OUTBOX_MAX_RETRY_DELAY_MS",
        "outbox.max_retry_delay_ms",
    ),
    ("ASKDESK_OUTBOX_MAX_ATTEMPTS", "outbox.max_attempts"),
    ("ASKDESK_OUTBOX_CLAIM_LEASE_MS", "outbox.claim_lease_ms"),
    (
        "ASKDESK_REPLICAS_FOLLOW_INTERVAL_MS",
        "replicas.follow_interval_ms",
    ),
    ("ASKDESK_RETENTION_INTERVAL_MS", "retention.interval_ms"),
    ("ASKDESK_SYNC_CHECK_INTERVAL_MS", "sync.check_interval_ms"),
    (
        "ASKDESK_ANSWERS_QUEUE_TIMEOUT_MS",
        "answers.queue_timeout_ms",
    ),
    ("ASKDESK_CORS_ALLOW_SAME_ORIGIN", "cors.allow_same_origin"),
];

fn env_value_kind(key: &str) -> EnvValue {
    if key == "keys.api" {
        EnvValue::List
    } else {
        EnvValue::Scalar
    }
}

const ENV_PROVIDER: &str = "environment";

/// The mapped environment variables as a figment provider. Values stay strings (a numeric API
/// key must not become a number); numbers and booleans are converted when extracted.
struct EnvOverrides {
    vars: Vec<(String, String)>,
}

impl EnvOverrides {
    fn read(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let vars = ENV_VARS
            .iter()
            .filter_map(|(name, key)| {
                let value = lookup(name).filter(|v| !v.trim().is_empty())?;
                Some((key.to_string(), value))
            })
            .collect();
        Self { vars }
    }
}

impl Provider for EnvOverrides {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_PROVIDER)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, raw) in &self.vars {
            let value = match env_value_kind(key) {
                EnvValue::Scalar => Value::from(raw.clone()),
                EnvValue::List => Value::from(
                    raw.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>(),
                ),
            };
            insert_path(&mut dict, key, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Sets `a.b.c` in nested dictionaries, creating the tables on the way.
fn insert_path(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_string(), value);
        }
        Some((table, rest)) => {
            let entry = dict
                .entry(table.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

/// A configuration that cannot be used; the message names the key and its source (file or
/// environment variable) and never contains a value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ServiceConfig {
    /// Defaults, then `file` (when given; it must exist), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, |name| std::env::var(name).ok())
    }

    /// [`ServiceConfig::load`] with the environment given as a lookup (for tests).
    pub fn load_with(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "{}: config file not found",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment
            .merge(EnvOverrides::read(env))
            .extract_lossy()
            .map_err(describe)
    }

    /// The store's URL: `database_url`, or [`ServiceConfig::default_store_file`].
    pub fn database_url(&self) -> Secret {
        self.database_url.clone().unwrap_or_else(|| {
            Secret::new(format!("sqlite://{}", self.default_store_file().display()))
        })
    }

    /// The SQLite file the store is when `database_url` is unset.
    pub fn default_store_file(&self) -> PathBuf {
        self.data.join("askdesk.db")
    }

    /// The keys the HTTP service accepts.
    pub fn access_keys(&self) -> crate::http::AccessKeys {
        crate::http::AccessKeys {
            admin: self.keys.admin.clone(),
            api: self.keys.api.clone(),
        }
    }
}

/// One line per problem: `<source>: <key>: <what is wrong>`, without the offending value.
fn describe(error: figment::Error) -> ConfigError {
    let lines: Vec<String> = error.into_iter().map(|e| describe_one(&e)).collect();
    ConfigError(lines.join("\n"))
}

fn describe_one(e: &figment::Error) -> String {
    use figment::error::Kind;
    let mut key = e.path.join(".");
    let problem = match &e.kind {
        Kind::UnknownField(field, known) => {
            key = if key.is_empty() {
                field.clone()
            } else {
                format!("{key}.{field}")
            };
            format!("unknown key (known keys here: {})", known.join(", "))
        }
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", type_name(actual))
        }
        Kind::InvalidValue(_, expected) => format!("invalid value: expected {expected}"),
        Kind::InvalidLength(len, expected) => format!("{len} items: expected {expected}"),
        Kind::UnknownVariant(_, known) => format!("unknown value: expected one of {known:?}"),
        Kind::MissingField(field) => format!("missing key `{field}`"),
        Kind::DuplicateField(field) => format!("key `{field}` given twice"),
        // A parse error quotes the offending line of the file: keep its position and cause only.
        Kind::Message(message) => parse_error_summary(message),
        _ => "unsupported value".to_string(),
    };
    let source = match &e.metadata {
        Some(m) if m.name == ENV_PROVIDER => ENV_VARS
            .iter()
            .find(|(_, k)| *k == key)
            .map_or_else(|| "environment".to_string(), |(name, _)| name.to_string()),
        Some(m) => m
            .source
            .as_ref()
            .and_then(|s| s.file_path())
            .map_or_else(|| m.name.to_string(), |p| p.display().to_string()),
        None => "configuration".to_string(),
    };
    if key.is_empty() {
        format!("{source}: {problem}")
    } else {
        format!("{source}: {key}: {problem}")
    }
}

fn type_name(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "another type",
    }
}

/// The first line of a parse error (where) and its last (why), without the quoted source line.
fn parse_error_summary(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match (lines.first(), lines.last()) {
        (Some(first), Some(last)) if lines.len() > 1 && !last.contains('|') => {
            format!("{first}: {last}")
        }
        (Some(first), _) => first.to_string(),
        _ => "invalid".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn write(contents: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("askdesk.toml");
        std::fs::write(&path, contents).unwrap();
        (dir, path)
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn defaults_need_no_file() {
        let config = ServiceConfig::load_with(None, env(&[])).unwrap();
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.knowledge, PathBuf::from("knowledge"));
        assert_eq!(config.rate_limit, RateLimitConfig::default());
        assert!(config.keys.admin.is_none() && config.keys.api.is_empty());
        assert!(config.llm.client_config().is_none());
        assert!(config.smtp.url.is_none());
        assert!(config.cors.allow_same_origin);
    }

    #[test]
    fn file_overrides_defaults() {
        let (_dir, path) = write(
            "bind = \"0.0.0.0:9000\"\n[rate_limit]\nper_ip_per_minute = 5\n[llm]\nbase_url = \"http://127.0.0.1:8000/v1\"\nmax_tokens = 64\n[keys]\napi = [\"k1\", \"k2\"]\n",
        );
        let config = ServiceConfig::load_with(Some(&path), env(&[])).unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000");
        assert_eq!(config.rate_limit.per_ip_per_minute, 5);
        assert_eq!(
            config.rate_limit.per_ip_burst,
            RateLimitConfig::default().per_ip_burst
        );
        let llm = config.llm.client_config().unwrap();
        assert_eq!(
            (llm.base_url.as_str(), llm.max_tokens),
            ("http://127.0.0.1:8000/v1", 64)
        );
        assert_eq!(llm.model, "default");
        assert!(config.access_keys().is_api_key("k2"));
    }

    #[test]
    fn environment_overrides_file_with_the_established_names() {
        let (_dir, path) = write(
            "bind = \"0.0.0.0:9000\"\n[llm]\nmodel = \"from-file\"\nmax_tokens = 64\n[smtp]\nfrom = \"a <a@file.test>\"\n",
        );
        let config = ServiceConfig::load_with(
            Some(&path),
            env(&[
                ("ASKDESK_BIND", "127.0.0.1:7000"),
                ("ASKDESK_LLM_MODEL", "from-env"),
                ("ASKDESK_LLM_TEMPERATURE", "0.5"),
                ("ASKDESK_API_KEYS", " k1, ,0123 "),
                ("ASKDESK_ADMIN_KEY", "42"),
                ("ASKDESK_TRUST_FORWARDED_FOR", "true"),
                ("ASKDESK_SMTP_URL", ""),
            ]),
        )
        .unwrap();
        assert_eq!(config.bind, "127.0.0.1:7000");
        assert_eq!(config.llm.model, "from-env");
        assert_eq!(config.llm.temperature, 0.5);
        assert_eq!(
            config.llm.max_tokens, 64,
            "the file still sets what env does not"
        );
        assert_eq!(config.smtp.from, "a <a@file.test>");
        assert!(config.smtp.url.is_none(), "a blank variable is unset");
        assert!(config.rate_limit.trust_forwarded_for);
        // Numeric keys stay strings, digit for digit.
        let keys = config.access_keys();
        assert!(keys.is_api_key("k1") && keys.is_api_key("0123") && !keys.is_api_key("123"));
        assert_eq!(config.keys.api.len(), 2);
        assert!(keys.is_admin("42"));
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_key_and_file() {
        let (_dir, path) = write("[rate_limit]\nper_ip_brust = 3\n");
        let error = ServiceConfig::load_with(Some(&path), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("rate_limit.per_ip_brust"), "{error}");
        assert!(error.contains("unknown key"), "{error}");
        assert!(error.contains(&path.display().to_string()), "{error}");
    }

    #[test]
    fn bad_type_names_the_key_and_file() {
        let (_dir, path) = write("[llm]\nmax_tokens = \"lots\"\n");
        let error = ServiceConfig::load_with(Some(&path), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("llm.max_tokens"), "{error}");
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(!error.contains("lots"), "{error}");
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let error = ServiceConfig::load_with(None, env(&[("ASKDESK_LLM_MAX_TOKENS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("ASKDESK_LLM_MAX_TOKENS"), "{error}");
        assert!(!error.contains("many"), "{error}");
    }

    #[test]
    fn errors_never_echo_secrets() {
        // A secret of the wrong type, a secret under a misspelt key, and a secret on a line
        // that does not parse.
        for contents in [
            "[keys]\napi = \"sk-wrong-type-secret\"\n",
            "[keys]\nadmin = 12345678901\n",
            "[llm]\napi_kee = \"sk-misspelt-secret\"\n",
            "[smtp]\nurl = \"smtps://user:hunter2-secret@mail.test\n",
        ] {
            let (_dir, path) = write(contents);
            let error = ServiceConfig::load_with(Some(&path), env(&[]))
                .unwrap_err()
                .to_string();
            for secret in ["secret", "12345678901"] {
                assert!(!error.contains(secret), "{contents:?} gave {error}");
            }
            assert!(error.contains(&path.display().to_string()), "{error}");
        }
    }

    #[test]
    fn the_example_file_documents_every_key_with_its_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("askdesk.example.toml");
        let example = ServiceConfig::load_with(Some(&path), env(&[])).unwrap();
        let defaults = ServiceConfig::default();
        assert_eq!(format!("{example:?}"), format!("{defaults:?}"));
        assert_eq!(example.llm.api_key, defaults.llm.api_key);
        let text = std::fs::read_to_string(&path).unwrap();
        for (name, key) in ENV_VARS {
            let leaf = key.rsplit('.').next().unwrap();
            assert!(text.contains(name), "{name} is not documented");
            assert!(
                text.contains(&format!("{leaf} =")),
                "{key} is not documented"
            );
        }
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let error =
            ServiceConfig::load_with(Some(Path::new("/nonexistent/askdesk.toml")), env(&[]))
                .unwrap_err()
                .to_string();
        assert!(error.contains("/nonexistent/askdesk.toml"), "{error}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let config = ServiceConfig::load_with(
            None,
            env(&[
                ("OPENAI_API_KEY", "sk-live-key"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
                ("ASKDESK_SMTP_URL", "smtps://u:pw-secret@mail.test"),
                ("ASKDESK_ADMIN_KEY", "admin-secret"),
            ]),
        )
        .unwrap();
        let shown = format!("{config:?} {:?}", config.llm.client_config());
        for secret in ["sk-live-key", "pw-secret", "admin-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
