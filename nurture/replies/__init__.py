"""Hearing prospects: inbound texts and emails, their intent, the staff inbox."""
