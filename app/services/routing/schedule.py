"""Hours of operation are checked by the routing engine in the database (`cc_is_open` in
sql/10_rules.sql); this is the vocabulary the forms and schemas share with it."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
