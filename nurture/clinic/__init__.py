"""The clinic's own settings: who it is, its time zone and quiet hours, as staff save them."""
