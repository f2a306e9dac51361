"""Plans and billing at the edge: the official stripe SDK pointed at the configured API origin
(Stripe's, or the local stand-in's), Checkout Sessions for a connection's plan, and the signed
webhook events that activate, renew, or stop a subscription.

    client.py     the SDK's StripeClient over the httpx.Client the caller gives
    checkout.py   start a Checkout Session for a connection and plan; cancel a subscription
    webhooks.py   POST /webhooks/stripe: signature, idempotency, what each event changes
"""
