"""The mail service: transactional and opt-in mail from events, through SES."""
