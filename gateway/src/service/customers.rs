//! Wallet customers and their wallets, as the customer side (mobile-bridge) reaches them: the
//! account rules live there; these are the core's records of them.

use super::{missing, ServiceError, Services};
use crate::clock::Millis;
use crate::domain::customer::{Customer, Identifier};
use crate::domain::idempotency::{KeyStep, Keyed, Saved};
use crate::domain::keys::KeyHash;
use crate::domain::money::{Amount, Currency};
use crate::domain::query::Page;
use crate::domain::wallet::Wallet;
use crate::store::{
    CodedIntent, CustomerCreated, CustomerCredentials, CustomerPayment, NewCustomerRecord, NextRefreshToken, RefreshOutcome,
    RefreshTokenRecord, TopUpOutcome,
};

impl Services {
    pub async fn create_customer(&self, new: &NewCustomerRecord) -> Result<CustomerCreated, ServiceError> {
        Ok(self.store.customers.create_customer(new).await?)
    }

    pub async fn find_customer(&self, identifier: &Identifier) -> Result<Option<CustomerCredentials>, ServiceError> {
        Ok(self.store.customers.find_customer_by_identifier(identifier).await?)
    }

    pub async fn get_customer(&self, id: &str) -> Result<Customer, ServiceError> {
        self.store.customers.get_customer(id).await.map_err(missing("customer"))
    }

    /// Counts a failed sign-in; returns when the account is locked until, if this locked it.
    pub async fn record_failed_sign_in(&self, customer_id: &str, now: Millis) -> Result<Option<Millis>, ServiceError> {
        self.store.customers.record_failed_sign_in(customer_id, now).await.map_err(missing("customer"))
    }

    pub async fn reset_failed_sign_ins(&self, customer_id: &str) -> Result<(), ServiceError> {
        Ok(self.store.customers.reset_failed_sign_ins(customer_id).await?)
    }

    pub async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), ServiceError> {
        Ok(self.store.customers.insert_refresh_token(token).await?)
    }

    pub async fn use_refresh_token(&self, hash: &KeyHash, now: Millis, next: &NextRefreshToken) -> Result<RefreshOutcome, ServiceError> {
        Ok(self.store.customers.use_refresh_token(hash, now, next).await?)
    }

    pub async fn revoke_refresh_family(&self, hash: &KeyHash, now: Millis) -> Result<u64, ServiceError> {
        Ok(self.store.customers.revoke_refresh_family(hash, now).await?)
    }

    /// The intent behind an approval code, in any merchant and mode.
    pub async fn find_intent_by_code(&self, code: &str) -> Result<Option<CodedIntent>, ServiceError> {
        Ok(self.store.intents.find_intent_by_code(code).await?)
    }

    /// What the customer approved or declined, newest first.
    pub async fn list_customer_payments(&self, customer_id: &str, page: &Page) -> Result<Vec<CustomerPayment>, ServiceError> {
        Ok(self.store.intents.list_customer_payments(customer_id, page).await?)
    }

    pub async fn open_wallet(&self, customer_id: &str, livemode: bool, currency: Currency, opening: Option<Amount>) -> Result<Wallet, ServiceError> {
        Ok(self.store.wallets.open_wallet(customer_id, livemode, currency, opening, self.clock.now()).await?)
    }

    pub async fn list_wallets(&self, customer_id: &str) -> Result<Vec<Wallet>, ServiceError> {
        Ok(self.store.wallets.list_wallets(customer_id).await?)
    }

    /// One of the customer's wallets; another customer's is `NotFound("wallet")`.
    pub async fn get_wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Wallet, ServiceError> {
        self.store.wallets.get_wallet(customer_id, wallet_id).await.map_err(missing("wallet"))
    }

    /// Adds test money once per `reference`; with a key, the answer is saved with the top-up.
    pub async fn top_up_wallet(&self, customer_id: &str, wallet_id: &str, amount: Amount, reference: &str, key: Option<&Keyed>) -> Result<TopUpOutcome, ServiceError> {
        let step = key.map(KeyStep::Finish);
        self.store.wallets.top_up_wallet(customer_id, wallet_id, amount, reference, self.clock.now(), step).await.map_err(missing("wallet"))
    }

    /// Saves an answer under the key that no phase saved (work done before, an outcome without
    /// an effect of its own).
    pub async fn answer_with(&self, key: Option<&Keyed>, object: Saved) -> Result<(), ServiceError> {
        if let Some(k) = key.filter(|k| !k.lease.is_answered()) {
            self.store.idempotency.idempotency_answer(&k.lease, &k.finish.answer(object)).await?;
        }
        Ok(())
    }
}
