//! The query of `GET /v1/devboxes/disk_snapshots`, including its metadata filters.
//!
//! `metadata[KEY]=VALUE` keeps snapshots whose metadata maps `KEY` to `VALUE`, and
//! `metadata[KEY][in]=A,B` those that map it to one of the comma-separated values (so a
//! value containing a comma can only be matched with the first form). The brackets may be
//! sent raw or percent-encoded (`metadata%5BKEY%5D`), as the official clients do. Several
//! filters, also on one key, must all hold. Keys this server does not know are ignored.

use crate::services::ListQuery;
use crate::store::{MetadataMatch, SnapshotFilter};

use super::error::ApiError;
use super::extract::parse_flag;

/// A parsed snapshot list query.
#[derive(Debug, Default)]
pub struct SnapshotListQuery {
    /// Conditions on the source devbox and on metadata.
    pub filter: SnapshotFilter,
    /// The `source_blueprint_id` filter.
    pub source_blueprint_id: Option<String>,
    /// Page size, cursor and total count.
    pub list: ListQuery,
}

/// Parses the decoded `(key, value)` pairs of the query string. An empty value of a scalar
/// parameter counts as absent.
pub fn parse(pairs: Vec<(String, String)>) -> Result<SnapshotListQuery, ApiError> {
    let mut query = SnapshotListQuery::default();
    let mut seen = Vec::new();

    for (key, value) in pairs {
        if let Some(condition) = parse_metadata_filter(&key, value.clone())? {
            query.filter.metadata.push(condition);
            continue;
        }

        let known = [
            "devbox_id",
            "source_blueprint_id",
            "starting_after",
            "limit",
            "include_total_count",
        ];
        if !known.contains(&key.as_str()) {
            continue;
        }
        if seen.contains(&key) {
            return Err(ApiError::bad_request(format!(
                "query parameter {key} is given more than once; give it once"
            )));
        }
        seen.push(key.clone());
        if value.is_empty() {
            continue;
        }

        match key.as_str() {
            "devbox_id" => query.filter.devbox_id = Some(value),
            "source_blueprint_id" => query.source_blueprint_id = Some(value),
            "starting_after" => query.list.starting_after = Some(value),
            "limit" => query.list.limit = Some(parse_limit(&value)?),
            _ => query.list.include_total_count = Some(parse_flag(&key, Some(&value))?),
        }
    }
    Ok(query)
}

/// Parses `metadata[KEY]` and `metadata[KEY][in]`; returns `None` for any other key.
fn parse_metadata_filter(key: &str, value: String) -> Result<Option<MetadataMatch>, ApiError> {
    let Some(rest) = key.strip_prefix("metadata[") else {
        return Ok(None);
    };
    let (name, values) = if let Some(name) = rest.strip_suffix("][in]") {
        (name, value.split(',').map(str::to_owned).collect())
    } else if let Some(name) = rest.strip_suffix(']') {
        (name, vec![value])
    } else {
        return Err(ApiError::bad_request(format!(
            "query parameter {key} is not a metadata filter; use metadata[KEY]=VALUE or \
             metadata[KEY][in]=VALUE1,VALUE2"
        )));
    };
    if name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "query parameter {key} names no metadata key; use metadata[KEY]=VALUE"
        )));
    }
    Ok(Some(MetadataMatch {
        key: name.to_owned(),
        values,
    }))
}

fn parse_limit(value: &str) -> Result<u32, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "limit must be a whole number of snapshots between 1 and 5000, got {value:?}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn parses_scalars_and_metadata_filters() {
        let query = parse(pairs(&[
            ("devbox_id", "dbx_1"),
            ("limit", "5"),
            ("starting_after", "snp_2"),
            ("include_total_count", "false"),
            ("metadata[team]", "a"),
            ("metadata[env][in]", "prod,staging"),
            ("unknown", "ignored"),
        ]))
        .expect("valid query");

        assert_eq!(query.filter.devbox_id.as_deref(), Some("dbx_1"));
        assert_eq!(query.list.limit, Some(5));
        assert_eq!(query.list.starting_after.as_deref(), Some("snp_2"));
        assert_eq!(query.list.include_total_count, Some(false));
        assert_eq!(
            query.filter.metadata,
            [
                MetadataMatch {
                    key: "team".to_owned(),
                    values: vec!["a".to_owned()],
                },
                MetadataMatch {
                    key: "env".to_owned(),
                    values: vec!["prod".to_owned(), "staging".to_owned()],
                },
            ]
        );
    }

    #[test]
    fn keys_may_contain_brackets() {
        let query = parse(pairs(&[("metadata[a[b]]", "x")])).expect("valid query");
        assert_eq!(query.filter.metadata[0].key, "a[b]");
    }

    #[test]
    fn empty_scalar_counts_as_absent() {
        let query = parse(pairs(&[("devbox_id", ""), ("limit", "")])).expect("valid query");
        assert_eq!(query.filter.devbox_id, None);
        assert_eq!(query.list.limit, None);
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            ("limit", "ten"),
            ("include_total_count", "maybe"),
            ("metadata[]", "x"),
            ("metadata[team", "x"),
            ("metadata[team][eq]x", "x"),
        ] {
            assert!(parse(pairs(&[bad])).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse(pairs(&[("limit", "1"), ("limit", "2")])).is_err());
    }
}
