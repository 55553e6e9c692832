-- Where the approval page sends the customer's phone after the outcome (the SDK's resume()).
ALTER TABLE payment_intents ADD COLUMN return_url TEXT;
