//! When to retry a failed attempt and how long to wait first.

use crate::platform::HttpResponse;

/// Retry settings of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 5).
    pub max_retries: u32,
    /// Backoff before the first retry, in milliseconds (default 1000); it doubles per retry.
    pub initial_delay_ms: u64,
    /// Maximum backoff, in milliseconds (default 60 000).
    pub max_delay_ms: u64,
    /// Maximum wait taken from a `Retry-After` or `retry-after-ms` header, in milliseconds
    /// (default 60 000); a longer value is cut to this.
    pub max_retry_after_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_delay_ms: 1_000,
            max_delay_ms: 60_000,
            max_retry_after_ms: 60_000,
        }
    }
}

impl RetryPolicy {
    /// Returns the backoff before retry number `retries_done + 1`:
    /// `min(initial × 2^retries_done, max)`, shortened by up to 25 % of jitter.
    /// `random` is uniform in `[0, 1)`.
    pub fn backoff_ms(&self, retries_done: u32, random: f64) -> u64 {
        let factor = 2f64.powi(retries_done.min(62) as i32);
        let delay = (self.initial_delay_ms as f64 * factor).min(self.max_delay_ms as f64);
        let jitter = 1.0 - random.clamp(0.0, 1.0) * 0.25;
        (delay * jitter).round() as u64
    }

    /// Returns the wait before the next retry: the server's `retry-after-ms` or
    /// `Retry-After` when present (cut to `max_retry_after_ms`), else the backoff.
    pub fn delay_ms<B, R>(
        &self,
        retries_done: u32,
        response: Option<&HttpResponse<B, R>>,
        now_ms: f64,
        random: f64,
    ) -> u64 {
        let requested = response.and_then(|response| retry_after_ms(response, now_ms));
        match requested {
            Some(ms) => ms.min(self.max_retry_after_ms as f64).round() as u64,
            None => self.backoff_ms(retries_done, random),
        }
    }
}

/// Returns whether a failed response should be retried: 408, 409, 429 and every 5xx. An
/// `x-should-retry` header of `true` or `false` overrides the status.
pub fn should_retry<B, R>(response: &HttpResponse<B, R>) -> bool {
    match response.header("x-should-retry") {
        Some("true") => true,
        Some("false") => false,
        _ => matches!(response.status, 408 | 409 | 429 | 500..),
    }
}

/// Reads the wait the server asked for, in milliseconds: `retry-after-ms` (milliseconds), else
/// `Retry-After` as seconds or as an HTTP date. A date in the past gives 0.
pub fn retry_after_ms<B, R>(response: &HttpResponse<B, R>, now_ms: f64) -> Option<f64> {
    if let Some(ms) = response
        .header("retry-after-ms")
        .and_then(parse_non_negative)
    {
        return Some(ms);
    }

    let value = response.header("retry-after")?;
    if let Some(seconds) = parse_non_negative(value) {
        return Some(seconds * 1000.0);
    }
    parse_http_date_ms(value).map(|date_ms| (date_ms - now_ms).max(0.0))
}

/// Parses a non-negative decimal number such as `3`, `0.25` or `.5`. It is written out
/// because `str::parse::<f64>` would add a general float parser to the wasm build for two
/// headers; exponents, signs, `inf` and `NaN` are rejected.
fn parse_non_negative(value: &str) -> Option<f64> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }

    let mut number = 0.0;
    for digit in whole.bytes() {
        number = number * 10.0 + f64::from(digit - b'0');
    }
    let mut scale = 0.1;
    for digit in fraction.bytes() {
        number += f64::from(digit - b'0') * scale;
        scale /= 10.0;
    }
    Some(number)
}

/// Parses an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110, section 5.6.7)
/// into milliseconds since the Unix epoch. The obsolete date formats are not accepted.
pub fn parse_http_date_ms(value: &str) -> Option<f64> {
    let (_weekday, rest) = value.trim().split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };

    let day: i64 = day.parse().ok()?;
    let month = MONTHS.iter().position(|name| name == month)? as i64 + 1;
    let year: i64 = year.parse().ok()?;

    let clock: Vec<&str> = time.split(':').collect();
    let [hours, minutes, seconds] = clock.as_slice() else {
        return None;
    };
    let hours: i64 = hours.parse().ok()?;
    let minutes: i64 = minutes.parse().ok()?;
    let seconds: i64 = seconds.parse().ok()?;

    let valid = (1..=31).contains(&day) && hours < 24 && minutes < 60 && seconds < 61;
    if !valid {
        return None;
    }

    let days = days_from_civil(year, month, day);
    let total_seconds = days * 86_400 + hours * 3_600 + minutes * 60 + seconds;
    Some(total_seconds as f64 * 1000.0)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_non_negative;

    #[test]
    fn decimal_numbers_parse() {
        let cases = [
            ("3", 3.0),
            (" 0.25 ", 0.25),
            (".5", 0.5),
            ("7.", 7.0),
            ("120", 120.0),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_non_negative(text), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn other_forms_are_rejected() {
        for text in ["", ".", "-1", "1e3", "inf", "NaN", "1.2.3", "0x10", "1 000"] {
            assert_eq!(parse_non_negative(text), None, "{text:?}");
        }
    }
}
