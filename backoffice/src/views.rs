//! A team's saved views of the transaction list: a name for a filter, shared by everyone on the
//! merchant who may read transactions. The filter is parsed and stored normalized, so a view
//! opens exactly the list it was saved from (its dates are relative when they were: "today"
//! stays today).

use crate::accounts::SignedIn;
use crate::audit::Audited;
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::store::{Outcome, SavedView, ViewSaved, MAX_VIEWS};
use crate::transactions::TransactionQuery;
use crate::Backoffice;
use gateway::domain::ValidationError;

/// Characters of a view's name, at most.
pub const MAX_NAME_CHARS: usize = 60;

/// A view's name: trimmed, 1 to 60 characters, no control characters.
pub fn view_name(text: &str) -> Result<String, ValidationError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(ValidationError::new("view_name_missing", "name", "Name the view."));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ValidationError::new("view_name_invalid", "name", format!("A view's name is at most {MAX_NAME_CHARS} characters, without control characters.")));
    }
    Ok(name.to_owned())
}

impl Backoffice {
    pub async fn saved_views(&self, who: &SignedIn) -> Result<Vec<SavedView>, BackofficeError> {
        if !who.role.may(Action::ReadTransactions) {
            return Err(BackofficeError::Forbidden);
        }
        Ok(self.stores.views.list_views(&who.merchant_id).await?)
    }

    /// Saves the filter `query` (a transaction list's query string) as `name` for the team.
    pub async fn save_view(&self, who: &SignedIn, name: &str, query: &str) -> Result<SavedView, BackofficeError> {
        self.permitted(who, Action::ReadTransactions, "view.save", name).await?;
        let name = view_name(name)?;
        let query = TransactionQuery::parse(query.trim_start_matches('?'))?.to_query_string();
        let view = SavedView {
            id: format!("view_{}", gateway::ids::random_base62(20)),
            merchant_id: who.merchant_id.clone(),
            name,
            query,
            created_by: who.staff.email.clone(),
            created_at: self.services.clock.now(),
        };
        match self.stores.views.save_view(&view).await? {
            ViewSaved::Saved => {
                self.audit(Audited::of(who), "view.save", Some(&view.name), Outcome::Success).await;
                Ok(view)
            }
            ViewSaved::NameTaken => Err(BackofficeError::ViewNameTaken),
            ViewSaved::TooMany => Err(BackofficeError::TooManyViews(MAX_VIEWS)),
        }
    }

    pub async fn delete_view(&self, who: &SignedIn, id: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ReadTransactions, "view.delete", id).await?;
        match self.stores.views.delete_view(&who.merchant_id, id).await? {
            Some(view) => {
                self.audit(Audited::of(who), "view.delete", Some(&view.name), Outcome::Success).await;
                Ok(())
            }
            None => Err(BackofficeError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_name_is_trimmed_and_bounded() {
        assert_eq!(view_name("  월말 정산  ").unwrap(), "월말 정산");
        assert_eq!(view_name(" ").unwrap_err().code, "view_name_missing");
        assert_eq!(view_name(&"가".repeat(61)).unwrap_err().code, "view_name_invalid");
        assert!(view_name(&"가".repeat(60)).is_ok());
        assert_eq!(view_name("a\u{7}b").unwrap_err().code, "view_name_invalid");
    }
}
