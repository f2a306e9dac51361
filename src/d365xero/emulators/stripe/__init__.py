"""A local stand-in of the Stripe endpoints d365xero uses (Customers, Checkout Sessions in
subscription mode, Subscriptions), its hosted checkout page and its signed webhook events."""
