"""Drafts: the team's own posts and replies, checked against the same guidance before they go out.

`check` runs every check on a draft (one module per kind of finding: `phi`, `patient_story`, `advice`,
`claims`, `sponsorship`, `opinion`; their rules are data in `rules.yaml`); `service` keeps drafts, their
checks, a lead's approval and publishing (an `ActionRequested` of kind `post` through the outbox), all in
the audit log; `views` serves the REST API and the desk's Drafts page.
"""
