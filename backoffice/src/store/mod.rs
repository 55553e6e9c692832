//! The back office's own storage, beside the payment store and not in it: staff and their
//! memberships ([`StaffStore`]), sessions ([`SessionStore`]), the audit log ([`AuditLog`]),
//! merchant settings ([`SettingsStore`]), the transaction search ([`TransactionSearch`]) and the
//! webhook deliveries of a payment's events ([`DeliveryLog`]) and the team with its invitations
//! ([`TeamStore`]), and the home page's figures ([`ActivityStore`]).
//! Each is a narrow trait implemented on the core's [`SqlStore`] through its SQL layer, the same
//! SQL text on both engines; the conformance suite in `tests/backoffice` runs each on both.

mod activity;
mod audit;
mod deliveries;
mod redis_sessions;
mod search;
mod sessions;
mod settings;
mod staff;
mod team;
mod views;

pub use activity::{ActivityBucket, ActivityStore, BUCKET_MS};
pub use audit::{audit_cursor, AuditEntry, AuditFilter, AuditLog, Outcome};
pub use deliveries::{DeliveryLog, DeliveryRow};
pub use redis_sessions::RedisSessions;
pub use search::{CurrencyTotal, SearchFilter, Totals, TransactionRow, TransactionSearch};
pub use sessions::{SessionRecord, SessionStore};
pub use settings::SettingsStore;
pub use team::{Invitation, Member, TeamChange, TeamStore};
pub use views::{SavedView, SavedViews, ViewSaved, MAX_VIEWS};
pub use staff::{Membership, SignupRecord, Staff, StaffCreated, StaffCredentials, StaffStore, TotpState};

use gateway::store::SqlStore;
use std::sync::Arc;

/// The back office's stores as its services hold them: one trait object per area.
#[derive(Clone)]
pub struct Stores {
    pub staff: Arc<dyn StaffStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub audit: Arc<dyn AuditLog>,
    pub settings: Arc<dyn SettingsStore>,
    pub search: Arc<dyn TransactionSearch>,
    pub deliveries: Arc<dyn DeliveryLog>,
    pub team: Arc<dyn TeamStore>,
    pub activity: Arc<dyn ActivityStore>,
    pub views: Arc<dyn SavedViews>,
}

impl Stores {
    pub fn new(store: Arc<SqlStore>) -> Self {
        Self { staff: store.clone(), sessions: store.clone(), audit: store.clone(), settings: store.clone(), search: store.clone(), deliveries: store.clone(), team: store.clone(), activity: store.clone(), views: store }
    }
}
