//! Tokens, roles, who may call a route ([`Access`]), the authorization
//! check every route passes, and rate limits.
//!
//! A token is `corridor_` followed by 32 random bytes in base64url. Only its
//! SHA-256 is stored (the secret is shown once, at creation). A request
//! carries it as `Authorization: Bearer <token>`. Roles:
//!
//! - `observer`: submit records, read receipts of its own records;
//! - `analyst`: read everything public, records, reports, claims;
//! - `admin`: all of that, plus tokens, site records, private parts, erasure.
//!
//! Requests without a token reach the public routes only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use corridor_store::{ApiToken, Store, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::rate_limit::UNKNOWN_PEER;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Observer,
    Analyst,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Observer, Role::Analyst, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Observer => "observer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, with or without a token.
    Public,
    /// Only tokens with one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match self {
            Access::Public => true,
            Access::Roles(roles) => role.is_some_and(|role| roles.contains(&role)),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Access::Public => "none (public)".into(),
            Access::Roles(roles) => roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }
}

/// Who is asking: a token's id and role, or nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: Option<String>,
    pub role: Option<Role>,
}

/// The prefix of every token secret, so a leaked one is easy to recognise.
const TOKEN_PREFIX: &str = "corridor_";

/// SHA-256 of a token secret, as stored.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A token just created: its stored form and the secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct TokenCreated {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    /// The secret to put in `Authorization: Bearer`. Not stored; shown once.
    pub token: String,
}

/// Why a token could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// `getrandom::Error` implements `std::error::Error` only with its
    /// `std` feature, which this build does not enable, so it is kept as is.
    #[error("no randomness for a token: {0}")]
    Randomness(getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn random_bytes<const N: usize>() -> Result<[u8; N], TokenError> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes).map_err(TokenError::Randomness)?;
    Ok(bytes)
}

/// Creates a token with `role`, named `name`, and stores its hash.
///
/// # Errors
/// No randomness, or a storage failure.
pub fn create_token(
    store: &mut dyn Store,
    name: &str,
    role: Role,
) -> Result<TokenCreated, TokenError> {
    let id = format!("tok_{}", hex::encode(random_bytes::<6>()?));
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    );
    let created_at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    store.insert_token(
        &ApiToken {
            id: id.clone(),
            name: name.to_string(),
            role: role.as_str().to_string(),
            created_at: created_at.clone(),
            revoked_at: None,
        },
        &hash_secret(&secret),
    )?;
    Ok(TokenCreated {
        id,
        name: name.to_string(),
        role,
        created_at,
        token: secret,
    })
}

/// The token secret of an `Authorization` header value: the `Bearer`
/// scheme, matched case-insensitively (RFC 9110, section 11.1), then
/// whitespace, then the token.
fn bearer_secret(value: &header::HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?.trim();
    let (scheme, secret) = text.split_once([' ', '\t'])?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then_some(secret)
}

/// Finds the caller from the `Authorization` header. No header: nobody.
async fn authenticate(
    state: &AppState,
    authorization: Option<header::HeaderValue>,
) -> Result<Caller, ApiError> {
    let Some(value) = authorization else {
        return Ok(Caller {
            token_id: None,
            role: None,
        });
    };
    let secret = bearer_secret(&value).ok_or_else(|| {
        ApiError::Unauthenticated("the Authorization header must be \"Bearer <token>\"".into())
    })?;
    if !secret.starts_with(TOKEN_PREFIX) {
        return Err(ApiError::Unauthenticated(
            "the bearer token is not a Corridor token".into(),
        ));
    }
    let hash = hash_secret(secret);
    let token = state
        .with_store(move |store| Ok(store.token_by_hash(&hash)?))
        .await?;
    let Some(token) = token else {
        return Err(ApiError::Unauthenticated("unknown token".into()));
    };
    if token.revoked_at.is_some() {
        return Err(ApiError::Unauthenticated(format!(
            "token {} was revoked",
            token.id
        )));
    }
    let role = Role::parse(&token.role).ok_or_else(|| {
        ApiError::internal(format!(
            "token {} has an unknown role {:?}",
            token.id, token.role
        ))
    })?;
    Ok(Caller {
        token_id: Some(token.id),
        role: Some(role),
    })
}

/// Middleware on every API route: authenticates, checks the route's
/// [`Access`], applies the rate limit, and hands the [`Caller`] on. A
/// failed authentication draws from its client address's failure budget
/// (`rate_limit.rs`) and is answered `429` once that is spent.
pub(crate) async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(UNKNOWN_PEER, |info| info.0.ip());
    let client = state
        .options()
        .client_addresses
        .client(peer, request.headers());
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let caller = match authenticate(&state, authorization).await {
        Ok(caller) => caller,
        Err(error @ ApiError::Unauthenticated(_)) => {
            return Err(match state.auth_failures().fail(client) {
                Ok(()) => error,
                Err(wait) => {
                    state
                        .metrics()
                        .auth_failures_limited
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    ApiError::TooManyRequests {
                        retry_after_seconds: wait,
                    }
                }
            });
        }
        Err(other) => return Err(other),
    };
    if !access.allows(caller.role) {
        return Err(match caller.role {
            None => ApiError::Unauthenticated(format!(
                "this needs a token with role {}",
                access.describe()
            )),
            Some(role) => ApiError::Forbidden(format!(
                "a token with role {role} may not do this; it needs {}",
                access.describe()
            )),
        });
    }
    let key = match &caller.token_id {
        Some(id) => id.clone(),
        None => client.to_string(),
    };
    if let Err(wait) = state.rate_limiter().take(&key) {
        return Err(ApiError::TooManyRequests {
            retry_after_seconds: wait.max(1),
        });
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// A token bucket per caller.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Above this many callers, buckets that are full again are forgotten.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    pub(crate) fn new(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            per_second: per_second.max(0.001),
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how many seconds to wait.
    pub(crate) fn take(&self, key: &str) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        if buckets.len() > MAX_BUCKETS {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses() {
        let limiter = RateLimiter::new(1.0, 3.0);
        assert_eq!(limiter.take("a"), Ok(()));
        assert_eq!(limiter.take("a"), Ok(()));
        assert_eq!(limiter.take("a"), Ok(()));
        assert_eq!(limiter.take("a"), Err(1));
        assert_eq!(limiter.take("b"), Ok(()));
    }

    #[test]
    fn the_bearer_scheme_is_matched_case_insensitively() {
        let secret = |text: &str| {
            header::HeaderValue::from_str(text)
                .ok()
                .and_then(|value| bearer_secret(&value).map(str::to_string))
        };
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(
                secret(&format!("{scheme} corridor_x")).as_deref(),
                Some("corridor_x")
            );
        }
        assert_eq!(
            secret("Bearer   corridor_x ").as_deref(),
            Some("corridor_x")
        );
        assert_eq!(secret("Basic corridor_x"), None);
        assert_eq!(secret("Bearer"), None);
        assert_eq!(secret("Bearercorridor_x"), None);
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
