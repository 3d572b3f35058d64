//! Cursor paging of the list endpoints: the next page starts after the last item of the
//! previous one.

use crate::error::{Error, Result};

/// Returns the `starting_after` cursor of the page after one whose last item has id
/// `last_id`, or `None` when that page was the last (`has_more` false, or no items).
///
/// Fails when the cursor equals `previous`, the cursor that fetched this page, because
/// following it would fetch the same page forever. `context` names the request.
pub fn next_cursor(
    last_id: Option<&str>,
    has_more: bool,
    previous: Option<&str>,
    context: &str,
) -> Result<Option<String>> {
    let Some(last_id) = last_id else {
        return Ok(None);
    };
    if previous == Some(last_id) {
        return Err(Error::InvalidResponse {
            context: context.to_owned(),
            message: format!("the page after {last_id} ends with {last_id} again"),
        });
    }
    Ok(has_more.then(|| last_id.to_owned()))
}
