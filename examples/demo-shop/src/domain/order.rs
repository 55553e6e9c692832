//! An order's statuses and the one table of moves between them. The store applies a move as a
//! compare-and-set from [`OrderTransition::allowed_from`], so a replayed or concurrent webhook
//! moves an order once, and the moves that end an unpaid order put its stock back exactly once.

/// Exhaustive on purpose: every status is matched by name wherever it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Stock reserved, waiting for the payment (it may get a new payment code).
    Pending,
    Paid,
    PartiallyRefunded,
    Refunded,
    /// Ended by the customer before paying; stock released.
    Canceled,
    /// The gateway's intent did not match the order's amount or currency: the intent was
    /// canceled, nothing captured, stock released.
    AmountMismatch,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Refunded,
        OrderStatus::Canceled,
        OrderStatus::AmountMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Canceled => "canceled",
            OrderStatus::AmountMismatch => "amount_mismatch",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// What the customer reads.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Awaiting payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::PartiallyRefunded => "Partially refunded",
            OrderStatus::Refunded => "Refunded",
            OrderStatus::Canceled => "Canceled",
            OrderStatus::AmountMismatch => "Canceled: amount mismatch",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderTransition {
    /// The gateway captured the payment.
    Pay,
    /// The customer canceled before paying.
    Cancel,
    /// The intent's amount or currency differed from the order's.
    RejectAmount,
    PartiallyRefund,
    Refund,
}

impl OrderTransition {
    pub fn allowed_from(self) -> &'static [OrderStatus] {
        match self {
            OrderTransition::Pay | OrderTransition::Cancel | OrderTransition::RejectAmount => {
                &[OrderStatus::Pending]
            }
            OrderTransition::PartiallyRefund => &[OrderStatus::Paid],
            OrderTransition::Refund => &[OrderStatus::Paid, OrderStatus::PartiallyRefunded],
        }
    }

    pub fn target(self) -> OrderStatus {
        match self {
            OrderTransition::Pay => OrderStatus::Paid,
            OrderTransition::Cancel => OrderStatus::Canceled,
            OrderTransition::RejectAmount => OrderStatus::AmountMismatch,
            OrderTransition::PartiallyRefund => OrderStatus::PartiallyRefunded,
            OrderTransition::Refund => OrderStatus::Refunded,
        }
    }

    /// The moves that end an order unpaid give its reserved stock back (in the same
    /// transaction as the move, so once).
    pub fn releases_stock(self) -> bool {
        match self {
            OrderTransition::Cancel | OrderTransition::RejectAmount => true,
            OrderTransition::Pay | OrderTransition::PartiallyRefund | OrderTransition::Refund => {
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn only_a_pending_order_can_be_paid_or_release_its_stock() {
        for t in [
            OrderTransition::Pay,
            OrderTransition::Cancel,
            OrderTransition::RejectAmount,
        ] {
            assert_eq!(t.allowed_from(), &[OrderStatus::Pending]);
        }
        assert!(!OrderTransition::Refund
            .allowed_from()
            .contains(&OrderStatus::Pending));
        assert!(!OrderTransition::Refund.releases_stock());
    }
}
