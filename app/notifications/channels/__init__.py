"""One sender per channel: webhook, email, SMS, Slack and Teams, over the per-process Outbound."""
