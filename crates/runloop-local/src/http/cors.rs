//! CORS for browser apps: requests from the origins given with `--cors-origin` get the
//! `Access-Control-*` headers, and preflights from any other origin get a 403.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// Response headers that browser code may read: the request id and the retry hints.
const EXPOSED_HEADERS: &str = "x-request-id, retry-after, retry-after-ms, x-should-retry";

/// Request headers a preflight allows when the browser names none.
const DEFAULT_ALLOWED_HEADERS: &str = "authorization, content-type, x-request-id";

/// Seconds a browser may cache a preflight response.
const PREFLIGHT_MAX_AGE_SECONDS: &str = "600";

/// Origins allowed to call the API from a browser.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Arc<[HeaderValue]>);

impl AllowedOrigins {
    /// Validates each origin: a scheme (`http` or `https`) and a host with an optional port,
    /// and no path, as browsers send it in the `Origin` header.
    pub fn parse(origins: &[String]) -> anyhow::Result<Self> {
        let mut parsed = Vec::with_capacity(origins.len());
        for origin in origins {
            let rest = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            let valid = rest.is_some_and(|host| !host.is_empty() && !host.contains('/'));
            let value = HeaderValue::from_str(origin).ok().filter(|_| valid);
            let Some(value) = value else {
                anyhow::bail!(
                    "invalid --cors-origin {origin:?}: expected an origin such as \
                     http://127.0.0.1:5173 (scheme, host, optional port, no path)"
                );
            };
            parsed.push(value);
        }
        Ok(Self(parsed.into()))
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }
}

/// Responds to preflights and adds CORS headers to the responses for allowed origins. Requests
/// without an `Origin` header pass through unchanged.
pub async fn apply(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(ORIGIN).cloned() else {
        return next.run(request).await;
    };
    let allowed = state.cors.allows(&origin);
    let is_preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);

    if is_preflight {
        if !allowed {
            let origin_text = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            tracing::warn!(origin = %origin_text, "rejected a CORS preflight from an origin not allowed");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "origin {origin_text} may not call this API from a browser; \
                     start runloop-local with --cors-origin {origin_text}"
                ),
            )
            .into_response();
        }
        let requested = request
            .headers()
            .get(ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        add_origin_headers(headers, origin);
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            requested.unwrap_or(HeaderValue::from_static(DEFAULT_ALLOWED_HEADERS)),
        );
        headers.insert(
            ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECONDS),
        );
        return response;
    }

    let mut response = next.run(request).await;
    if allowed {
        let headers = response.headers_mut();
        add_origin_headers(headers, origin);
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    response
}

fn add_origin_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(VARY, HeaderValue::from_static("Origin"));
}
