"""Analytics: flags per label and platform over time, time to first action, and SLA breaches."""
