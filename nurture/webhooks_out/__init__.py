"""Outbound webhooks: signed JSON posted to the clinic's own systems (a CRM, an EHR) when a
lead is captured, books, cancels, opts out or replies."""
