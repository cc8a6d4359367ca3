"""The mail service's rules, as plain functions and small types: campaigns (what a
campaign may say and whom it reaches), unsubscribe tokens, link redaction. Nothing here
touches the database, the bus or SES."""
