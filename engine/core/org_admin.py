"""Changing the organisation: units as a tree, the posts of a sub-command, accounts.

Administrators only; every change is audited.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

# The posts of a sub-command. Both holders act in the group `sub_commander@<sub-command>`
# through a role grant (engine/core/organisation.py groups_of); this row says which is which.
POSTS: dict[str, str] = {"commander": "指挥长", "deputy": "副指挥长"}


class OrgPost(Base):
    """Who holds a post of a unit: the commander or deputy commander of a sub-command."""

    __tablename__ = "org_post"

    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code", ondelete="CASCADE"),
                                           primary_key=True)
    post: Mapped[str] = mapped_column(String(20), primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("user_account.username", ondelete="CASCADE"), index=True)
