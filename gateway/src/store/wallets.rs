//! Wallets: the customer's side (balances, top-ups) and the wallet connector's book
//! (authorizations, the entries that move a balance). Each operation is one transaction that
//! locks the wallet row first (a no-op `UPDATE ... RETURNING`), so operations on one wallet run
//! one at a time, and each is idempotent on its reference. Whether a wallet can pay is the
//! domain's call (`Wallet::authorize`); the book records it.

use super::db::{query, Row, Tx};
use super::{corrupt, idempotency, SqlStore, StoreError};
use crate::domain::idempotency::{KeyStep, Saved};
use crate::clock::Millis;
use crate::domain::money::{Amount, Currency};
use crate::domain::wallet::{TopUpOutcome, Wallet, WalletAuthorization, WalletAuthorizationStatus, WalletDecline};
use crate::ids::IdKind;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletCapture {
    Captured,
    /// Not held (voided or declined), unknown, or for another amount.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletRefund {
    /// Credited now, or earlier under the same refund reference.
    Credited,
    /// Not captured, or more than is left to refund.
    Refused,
}

/// The customer's side of wallets.
#[async_trait]
pub trait WalletStore: Send + Sync {
    /// The customer's wallet in `currency` and mode; opened with `opening` (an `opening` entry)
    /// if it has none yet.
    async fn open_wallet(&self, customer_id: &str, livemode: bool, currency: Currency, opening: Option<Amount>, now: Millis) -> Result<Wallet, StoreError>;
    /// Test-mode wallets first, then by currency code.
    async fn list_wallets(&self, customer_id: &str) -> Result<Vec<Wallet>, StoreError>;
    /// Another customer's wallet is not found.
    async fn get_wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Wallet, StoreError>;
    /// Adds `amount` once per `reference`, recording `step` under the request's key with it.
    async fn top_up_wallet(&self, customer_id: &str, wallet_id: &str, amount: Amount, reference: &str, now: Millis, step: Option<KeyStep<'_>>) -> Result<TopUpOutcome, StoreError>;
}

/// The wallet connector's book: all the connector is given.
#[async_trait]
pub trait WalletBook: Send + Sync {
    /// Holds `amount` of the wallet for `reference`, or declines; a reference already decided
    /// gets its first decision back, whatever is asked the second time.
    async fn wallet_authorize(&self, reference: &str, wallet_id: &str, amount: Amount, currency: Currency, now: Millis) -> Result<WalletAuthorization, StoreError>;
    async fn wallet_authorization(&self, reference: &str) -> Result<Option<WalletAuthorization>, StoreError>;
    /// Idempotent: capturing a captured authorization again changes nothing.
    async fn wallet_capture(&self, authorization_id: &str, amount: Amount, now: Millis) -> Result<WalletCapture, StoreError>;
    /// Releases a held amount back to the balance, once; anything else is left as it is.
    async fn wallet_void(&self, authorization_id: &str, now: Millis) -> Result<WalletAuthorizationStatus, StoreError>;
    /// Credits `amount` back for `refund_reference`, once.
    async fn wallet_refund(&self, authorization_id: &str, refund_reference: &str, amount: Amount, now: Millis) -> Result<WalletRefund, StoreError>;
}

const WALLET_COLUMNS: &str = "id, customer_id, livemode, currency, balance, created_at";
const AUTHORIZATION_COLUMNS: &str = "id, reference, wallet_id, amount, status, decline_code";

fn wallet(r: &Row) -> Result<Wallet, StoreError> {
    Ok(Wallet {
        id: r.text("id")?,
        customer_id: r.text("customer_id")?,
        livemode: r.bool("livemode")?,
        currency: super::currency(&r.text("currency")?)?,
        balance: r.int("balance")?,
        created_at: r.int("created_at")?,
    })
}

fn authorization(r: &Row) -> Result<WalletAuthorization, StoreError> {
    let id = r.text("id")?;
    let status = r.text("status")?;
    let decline = r
        .opt_text("decline_code")?
        .map(|code| WalletDecline::parse(&code).ok_or_else(|| corrupt("wallet decline code", &code)))
        .transpose()?;
    Ok(WalletAuthorization {
        reference: r.text("reference")?,
        wallet_id: r.text("wallet_id")?,
        amount: Amount::parse(r.int("amount")?).map_err(|_| corrupt("wallet authorization amount", &id))?,
        status: WalletAuthorizationStatus::parse(&status).ok_or_else(|| corrupt("wallet authorization status", &status))?,
        decline,
        id,
    })
}

/// Locks the wallet row until the transaction ends and returns it.
async fn lock_wallet(tx: &mut Tx, wallet_id: &str) -> Result<Option<Wallet>, StoreError> {
    let lock = query(format!("UPDATE wallets SET updated_at = updated_at WHERE id = $1 RETURNING {WALLET_COLUMNS}")).bind(wallet_id);
    tx.fetch_optional(lock).await?.as_ref().map(wallet).transpose()
}

/// Moves a locked wallet's balance by `amount` and writes its entry, unless an entry of `kind`
/// for `reference` exists already; `false` when it did.
async fn entry(tx: &mut Tx, wallet_id: &str, kind: &str, amount: i64, reference: &str, now: Millis) -> Result<bool, StoreError> {
    let insert = query(
        "INSERT INTO wallet_entries (id, wallet_id, kind, amount, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (wallet_id, kind, reference) DO NOTHING",
    )
    .bind(IdKind::WalletEntry.generate())
    .bind(wallet_id)
    .bind(kind)
    .bind(amount)
    .bind(reference)
    .bind(now);
    if tx.execute(insert).await? == 0 {
        return Ok(false);
    }
    tx.execute(query("UPDATE wallets SET balance = balance + $1, updated_at = $2 WHERE id = $3").bind(amount).bind(now).bind(wallet_id)).await?;
    Ok(true)
}

async fn authorization_by(tx: &mut Tx, column: &'static str, value: &str) -> Result<Option<WalletAuthorization>, StoreError> {
    let find = query(format!("SELECT {AUTHORIZATION_COLUMNS} FROM wallet_authorizations WHERE {column} = $1")).bind(value);
    tx.fetch_optional(find).await?.as_ref().map(authorization).transpose()
}

#[async_trait]
impl WalletStore for SqlStore {
    async fn open_wallet(&self, customer_id: &str, livemode: bool, currency: Currency, opening: Option<Amount>, now: Millis) -> Result<Wallet, StoreError> {
        let id = IdKind::Wallet.generate();
        let open = query(
            "INSERT INTO wallets (id, customer_id, livemode, currency, balance, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $5) ON CONFLICT (customer_id, livemode, currency) DO NOTHING",
        )
        .bind(&id)
        .bind(customer_id)
        .bind(livemode)
        .bind(currency.code())
        .bind(now);
        let mut tx = self.db.begin().await?;
        if tx.execute(open).await? == 1 {
            if let Some(opening) = opening {
                entry(&mut tx, &id, "opening", opening.minor_units(), &id, now).await?;
            }
        }
        let find = query(format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE customer_id = $1 AND livemode = $2 AND currency = $3"))
            .bind(customer_id)
            .bind(livemode)
            .bind(currency.code());
        let opened = wallet(&tx.fetch_one(find).await?)?;
        tx.commit().await?;
        Ok(opened)
    }

    async fn list_wallets(&self, customer_id: &str) -> Result<Vec<Wallet>, StoreError> {
        let list = query(format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE customer_id = $1 ORDER BY livemode, currency")).bind(customer_id);
        self.db.fetch_all(list).await?.iter().map(wallet).collect()
    }

    async fn get_wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Wallet, StoreError> {
        let get = query(format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE id = $1 AND customer_id = $2")).bind(wallet_id).bind(customer_id);
        wallet(&self.db.fetch_one(get).await?)
    }

    async fn top_up_wallet(&self, customer_id: &str, wallet_id: &str, amount: Amount, reference: &str, now: Millis, step: Option<KeyStep<'_>>) -> Result<TopUpOutcome, StoreError> {
        let mut tx = self.db.begin().await?;
        let current = match lock_wallet(&mut tx, wallet_id).await? {
            Some(w) if w.customer_id == customer_id => w,
            _ => return Err(StoreError::NotFound),
        };
        let replay = query("SELECT amount FROM wallet_entries WHERE wallet_id = $1 AND kind = 'top_up' AND reference = $2").bind(wallet_id).bind(reference);
        if tx.fetch_optional(replay).await?.is_none() {
            if !current.can_top_up(amount) {
                return Ok(TopUpOutcome::OverLimit(current));
            }
            entry(&mut tx, wallet_id, "top_up", amount.minor_units(), reference, now).await?;
        }
        let after = lock_wallet(&mut tx, wallet_id).await?.ok_or(StoreError::NotFound)?;
        if let Some(step) = step {
            idempotency::record(&mut tx, step, || Saved::Wallet { wallet: after.clone() }).await?;
        }
        self.commit_step(tx, Vec::new(), step).await?;
        Ok(TopUpOutcome::Applied(after))
    }
}

#[async_trait]
impl WalletBook for SqlStore {
    async fn wallet_authorize(&self, reference: &str, wallet_id: &str, amount: Amount, currency: Currency, now: Millis) -> Result<WalletAuthorization, StoreError> {
        let mut tx = self.db.begin().await?;
        let Some(payer) = lock_wallet(&mut tx, wallet_id).await? else {
            return Err(StoreError::NotFound);
        };
        if let Some(decided) = authorization_by(&mut tx, "reference", reference).await? {
            return Ok(decided);
        }
        let decision = payer.authorize(amount, currency);
        let status = match decision {
            Ok(()) => WalletAuthorizationStatus::Held,
            Err(_) => WalletAuthorizationStatus::Declined,
        };
        let id = IdKind::WalletAuthorization.generate();
        let insert = query(
            "INSERT INTO wallet_authorizations (reference, id, wallet_id, amount, status, decline_code, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(reference)
        .bind(&id)
        .bind(wallet_id)
        .bind(amount.minor_units())
        .bind(status.as_str())
        .bind(decision.err().map(|d| d.code()))
        .bind(now);
        tx.execute(insert).await?;
        if status == WalletAuthorizationStatus::Held {
            entry(&mut tx, wallet_id, "hold", -amount.minor_units(), &id, now).await?;
        }
        let decided = authorization_by(&mut tx, "id", &id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(decided)
    }

    async fn wallet_authorization(&self, reference: &str) -> Result<Option<WalletAuthorization>, StoreError> {
        let find = query(format!("SELECT {AUTHORIZATION_COLUMNS} FROM wallet_authorizations WHERE reference = $1")).bind(reference);
        self.db.fetch_optional(find).await?.as_ref().map(authorization).transpose()
    }

    async fn wallet_capture(&self, authorization_id: &str, amount: Amount, now: Millis) -> Result<WalletCapture, StoreError> {
        let capture = query(
            "UPDATE wallet_authorizations SET status = 'captured', updated_at = $1 \
             WHERE id = $2 AND amount = $3 AND status IN ('held', 'captured')",
        )
        .bind(now)
        .bind(authorization_id)
        .bind(amount.minor_units());
        Ok(if self.db.execute(capture).await? == 1 { WalletCapture::Captured } else { WalletCapture::Refused })
    }

    async fn wallet_void(&self, authorization_id: &str, now: Millis) -> Result<WalletAuthorizationStatus, StoreError> {
        let mut tx = self.db.begin().await?;
        let Some(held) = authorization_by(&mut tx, "id", authorization_id).await? else {
            return Err(StoreError::NotFound);
        };
        lock_wallet(&mut tx, &held.wallet_id).await?;
        let release = query("UPDATE wallet_authorizations SET status = 'voided', updated_at = $1 WHERE id = $2 AND status = 'held'")
            .bind(now)
            .bind(authorization_id);
        let released = tx.execute(release).await? == 1;
        if released {
            entry(&mut tx, &held.wallet_id, "release", held.amount.minor_units(), authorization_id, now).await?;
        }
        tx.commit().await?;
        Ok(if released { WalletAuthorizationStatus::Voided } else { held.status })
    }

    async fn wallet_refund(&self, authorization_id: &str, refund_reference: &str, amount: Amount, now: Millis) -> Result<WalletRefund, StoreError> {
        let mut tx = self.db.begin().await?;
        let Some(captured) = authorization_by(&mut tx, "id", authorization_id).await? else {
            return Ok(WalletRefund::Refused);
        };
        lock_wallet(&mut tx, &captured.wallet_id).await?;
        let done = query("SELECT amount FROM wallet_entries WHERE wallet_id = $1 AND kind = 'refund' AND reference = $2")
            .bind(&captured.wallet_id)
            .bind(refund_reference);
        if tx.fetch_optional(done).await?.is_some() {
            return Ok(WalletRefund::Credited);
        }
        let reserve = query(
            "UPDATE wallet_authorizations SET refunded = refunded + $1, updated_at = $2 \
             WHERE id = $3 AND status = 'captured' AND refunded + $1 <= amount",
        )
        .bind(amount.minor_units())
        .bind(now)
        .bind(authorization_id);
        if tx.execute(reserve).await? == 0 {
            return Ok(WalletRefund::Refused);
        }
        entry(&mut tx, &captured.wallet_id, "refund", amount.minor_units(), refund_reference, now).await?;
        tx.commit().await?;
        Ok(WalletRefund::Credited)
    }
}
