"""The clinics of a group: each with its own address, sender, hours and zone."""
