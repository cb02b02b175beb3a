"""The clinic's own settings: who it is, its time zone and sending hours, as staff save them."""
