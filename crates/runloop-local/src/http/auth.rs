//! Bearer token check applied to every route, including unknown ones.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// Rejects a request with 401 unless it carries `Authorization: Bearer <token>`.
pub async fn require_bearer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });

    match presented {
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing API token; send the header `Authorization: Bearer <token>`",
        )
        .into_response(),
        Some(token) if !constant_time_eq(token.as_bytes(), state.token.as_bytes()) => {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid API token; use the token the server was started with",
            )
            .into_response()
        }
        Some(_) => next.run(request).await,
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_compares_contents() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secrets"));
    }
}
