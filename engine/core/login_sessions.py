"""Login sessions kept on the server, so that logging out ends a session wherever its cookie is.

The browser's cookie is signed but it is only a claim: each session also has a row here,
named by the hash of a random token the cookie carries. Logging out deletes the row, and a
copy of the cookie replayed afterwards finds none. "Log out everywhere" and a password change
delete every row of the account (besides raising its session generation).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, UTCDateTime


class LoginSession(Base):
    """One signed-in browser of an account, until it logs out or expires."""

    __tablename__ = "login_session"

    # The SHA-256 of the token in the cookie: the table alone does not let anyone sign in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("user_account.username", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _id_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, username: str, now: datetime, lifetime: timedelta) -> str:
    """Record a new session of `username` ending at `now + lifetime`; the token for its cookie.

    The account's expired sessions are removed on the way, so the table stays small.
    """
    session.execute(delete(LoginSession).where(LoginSession.username == username,
                                               LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(id=_id_of(token), username=username, started_at=now,
                             expires_at=now + lifetime))
    return token


def session_is_live(session: Session, username: str, token: object, now: datetime) -> bool:
    """Whether `token` names an unexpired session of `username` that has not logged out."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return False
    row = session.execute(select(LoginSession.username, LoginSession.expires_at).where(
        LoginSession.id == _id_of(token))).first()
    return row is not None and row.username == username and row.expires_at > now


def end_session(session: Session, token: object) -> None:
    """Log one session out: its cookie is refused from now on, wherever it is replayed."""
    if isinstance(token, str) and token:
        session.execute(delete(LoginSession).where(LoginSession.id == _id_of(token)))


def end_sessions_of(session: Session, username: str) -> None:
    """Log every session of the account out (log out everywhere, a password change)."""
    session.execute(delete(LoginSession).where(LoginSession.username == username))
