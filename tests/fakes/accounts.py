"""The accounts (X, YouTube, Reddit) the actions clients' platform fakes know, with their credentials."""

from __future__ import annotations

from triage_ingest.accounts import AccountConfig, Accounts

X_ACCOUNT = "1500000000000000001"  # our X user id
X_OTHER_USER = "2244994945"
YT_CHANNEL = "UCbrightwater0000000000"  # our channel id
YT_OTHER_CHANNEL = "UCabc"
REDDIT_USER = "brightwater_health"  # our Reddit username (the account id)
IG_USER_ID = "17841400000000000"

SECRETS = {
    "X_TOKEN": "x-user-token",
    "YT_CLIENT_ID": "yt-client",
    "YT_CLIENT_SECRET": "yt-secret",
    "YT_REFRESH": "yt-refresh",
    "REDDIT_CLIENT_ID": "reddit-client",
    "REDDIT_CLIENT_SECRET": "reddit-secret",
    "REDDIT_REFRESH": "reddit-refresh",
}


def platform_accounts(secrets: dict[str, str] | None = None) -> Accounts:
    known = SECRETS if secrets is None else secrets
    oauth = {
        "client_id": "{p}_CLIENT_ID",
        "client_secret": "{p}_CLIENT_SECRET",
        "refresh_token": "{p}_REFRESH",
    }
    return Accounts(
        [
            AccountConfig(
                platform="x", id=X_ACCOUNT, handle="@brightwater", credentials={"access_token": "X_TOKEN"}
            ),
            AccountConfig(
                platform="youtube",
                id=YT_CHANNEL,
                handle="@brightwaterhealth",
                credentials={k: v.format(p="YT") for k, v in oauth.items()},
            ),
            AccountConfig(
                platform="reddit",
                id=REDDIT_USER,
                handle=f"u/{REDDIT_USER}",
                credentials={k: v.format(p="REDDIT") for k, v in oauth.items()},
            ),
        ],
        known.get,
    )
