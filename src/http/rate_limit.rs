//! Rate limits: a token bucket per client IP on the public `/api/v1/*` routes (a middleware) and
//! one per tenant on every answering endpoint ([`RateLimits::check_tenant`], called by handlers
//! once they know the tenant). A refused request gets 429 `rate_limited` with `Retry-After`.
//!
//! Memory stays bounded: a bucket idle long enough to have refilled is the same as no bucket, so
//! such entries are swept; if a flood of distinct clients still fills the table, the longest-idle
//! half is dropped.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::ApiError;
use super::AppState;
use crate::config::RateLimitConfig;

/// Most client IPs tracked at once (about 64 bytes each).
const MAX_CLIENTS: usize = 100_000;
/// Most tenants tracked at once (only known tenants are checked).
const MAX_TENANTS: usize = 10_000;
/// A table smaller than this is never swept.
const MIN_SWEEP: usize = 1024;

/// The service's limits; `None` where switched off.
pub struct RateLimits {
    per_ip: Option<Buckets<IpAddr>>,
    per_tenant: Option<Buckets<String>>,
    trust_forwarded_for: bool,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            per_ip: Buckets::new(config.per_ip_per_minute, config.per_ip_burst, MAX_CLIENTS),
            per_tenant: Buckets::new(
                config.per_tenant_per_minute,
                config.per_tenant_burst,
                MAX_TENANTS,
            ),
            trust_forwarded_for: config.trust_forwarded_for,
        }
    }

    /// Takes one answer from `tenant`'s budget, shared by all its customers.
    pub fn check_tenant(&self, tenant: &str) -> Result<(), ApiError> {
        match &self.per_tenant {
            Some(buckets) => buckets.take_str(tenant, Instant::now()),
            None => Ok(()),
        }
    }

    fn check_client(&self, ip: IpAddr) -> Result<(), ApiError> {
        match &self.per_ip {
            Some(buckets) => buckets.take(&client_key(ip), Instant::now()),
            None => Ok(()),
        }
    }

    /// The client: the last `X-Forwarded-For` entry when configured to trust it (the address
    /// the proxy in front of askdesk saw), else the peer of the connection.
    fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        let forwarded = || {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|ip| ip.trim().parse().ok())
        };
        self.trust_forwarded_for
            .then(forwarded)
            .flatten()
            .or(peer.map(|p| p.ip()))
    }
}

/// One key per client: IPv6 clients usually hold a whole /64, so they share one bucket.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Middleware: the per-IP limit of the public API (CORS preflights are not counted).
pub async fn per_client_ip(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if super::is_public_api(request.uri().path()) && request.method() != axum::http::Method::OPTIONS
    {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        if let Some(ip) = state.limits.client_ip(request.headers(), peer) {
            if let Err(e) = state.limits.check_client(ip) {
                return e.into_response();
            }
        }
    }
    next.run(request).await
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Table<K> {
    buckets: HashMap<K, Bucket>,
    /// Sweep when a new key arrives and the table has this many entries.
    sweep_at: usize,
}

/// Token buckets by key: `burst` tokens at most, refilled at `per_second`.
struct Buckets<K> {
    per_second: f64,
    burst: f64,
    max_entries: usize,
    table: Mutex<Table<K>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// None when `per_minute` is 0 (the limit is off).
    fn new(per_minute: u32, burst: u32, max_entries: usize) -> Option<Self> {
        (per_minute > 0).then(|| Self {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            max_entries,
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                sweep_at: MIN_SWEEP.min(max_entries),
            }),
        })
    }

    fn take(&self, key: &K, now: Instant) -> Result<(), ApiError> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if !table.buckets.contains_key(key) {
            if table.buckets.len() >= table.sweep_at {
                self.sweep(&mut table, now);
            }
            table.buckets.insert(
                key.clone(),
                Bucket {
                    tokens: self.burst,
                    at: now,
                },
            );
        }
        let bucket = table.buckets.get_mut(key).expect("inserted above");
        self.take_from(bucket, now)
    }

    fn take_from(&self, bucket: &mut Bucket, now: Instant) -> Result<(), ApiError> {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / self.per_second).ceil();
            Err(ApiError::RateLimited((wait as u64).max(1)))
        }
    }

    /// Drops the buckets that have refilled (idle long enough: the same as no bucket), then,
    /// if the table is still over 3/4 full, the longest-idle ones down to half.
    fn sweep(&self, table: &mut Table<K>, now: Instant) {
        let refill = Duration::from_secs_f64(self.burst / self.per_second);
        table
            .buckets
            .retain(|_, b| now.saturating_duration_since(b.at) < refill);
        if table.buckets.len() > self.max_entries / 4 * 3 {
            let keep = self.max_entries / 2;
            let mut ages: Vec<Instant> = table.buckets.values().map(|b| b.at).collect();
            let cut = ages.len() - keep;
            let (_, oldest_kept, _) = ages.select_nth_unstable(cut);
            let oldest_kept = *oldest_kept;
            table.buckets.retain(|_, b| b.at >= oldest_kept);
        }
        table.sweep_at = (table.buckets.len() * 2)
            .max(MIN_SWEEP)
            .min(self.max_entries);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().unwrap().buckets.len()
    }
}

impl Buckets<String> {
    /// [`Buckets::take`] without allocating a key for an existing bucket.
    fn take_str(&self, key: &str, now: Instant) -> Result<(), ApiError> {
        {
            let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(bucket) = table.buckets.get_mut(key) {
                return self.take_from(bucket, now);
            }
        }
        self.take(&key.to_string(), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(result: Result<(), ApiError>) -> u64 {
        match result {
            Err(ApiError::RateLimited(seconds)) => seconds,
            other => panic!("expected rate_limited, got {other:?}"),
        }
    }

    #[test]
    fn burst_then_refusal_then_refill() {
        // 6 a minute (one every 10 s), 3 at once.
        let buckets = Buckets::new(6, 3, 100).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            buckets.take(&"a", t0).unwrap();
        }
        assert_eq!(retry_after(buckets.take(&"a", t0)), 10);
        assert_eq!(
            retry_after(buckets.take(&"a", t0 + Duration::from_secs(4))),
            6
        );
        buckets.take(&"b", t0).unwrap();
        buckets.take(&"a", t0 + Duration::from_secs(10)).unwrap();
        assert!(buckets.take(&"a", t0 + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let buckets = Buckets::new(6000, 1, 100).unwrap();
        let t0 = Instant::now();
        buckets.take(&1, t0).unwrap();
        assert_eq!(retry_after(buckets.take(&1, t0)), 1);
    }

    #[test]
    fn zero_per_minute_switches_a_limit_off() {
        assert!(Buckets::<u32>::new(0, 10, 100).is_none());
        let limits = RateLimits::new(&RateLimitConfig::off());
        for _ in 0..1000 {
            limits.check_tenant("t").unwrap();
            limits.check_client(IpAddr::from([127, 0, 0, 1])).unwrap();
        }
    }

    #[test]
    fn many_distinct_clients_keep_the_table_bounded() {
        let buckets = Buckets::new(30, 20, 5_000).unwrap();
        let t0 = Instant::now();
        let mut largest = 0;
        // 200,000 distinct addresses, 1,000 a second: far more than the table holds.
        for i in 0..200_000u32 {
            let now = t0 + Duration::from_millis(u64::from(i));
            buckets.take(&IpAddr::from(i.to_be_bytes()), now).unwrap();
            largest = largest.max(buckets.len());
        }
        assert!(largest <= 5_000, "table grew to {largest}");
    }

    #[test]
    fn refilled_buckets_are_swept_and_busy_ones_kept() {
        // Refill takes 20 / (30/60) = 40 s.
        let buckets = Buckets::new(30, 20, 100_000).unwrap();
        let t0 = Instant::now();
        for i in 0..2_000u32 {
            buckets.take(&i, t0).unwrap();
        }
        let busy = u32::MAX;
        for _ in 0..20 {
            buckets.take(&busy, t0 + Duration::from_secs(55)).unwrap();
        }
        // A minute later, new clients trigger a sweep: the idle clients are gone, the busy one
        // is kept with its drained bucket (5 s refilled 2.5 tokens, not a fresh 20).
        let later = t0 + Duration::from_secs(60);
        for i in 1_000_000..1_000_100u32 {
            buckets.take(&i, later).unwrap();
        }
        assert!(buckets.len() < 200, "{} buckets left", buckets.len());
        buckets.take(&busy, later).unwrap();
        buckets.take(&busy, later).unwrap();
        assert!(buckets.take(&busy, later).is_err());
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        let peer = Some(SocketAddr::from(([127, 0, 0, 1], 4000)));
        let trusting = RateLimits::new(&RateLimitConfig {
            trust_forwarded_for: true,
            ..RateLimitConfig::default()
        });
        assert_eq!(
            trusting.client_ip(&headers, peer),
            Some(IpAddr::from([198, 51, 100, 7]))
        );
        let direct = RateLimits::new(&RateLimitConfig::default());
        assert_eq!(
            direct.client_ip(&headers, peer),
            Some(IpAddr::from([127, 0, 0, 1]))
        );
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(mapped), IpAddr::from([192, 0, 2, 1]));
    }
}
