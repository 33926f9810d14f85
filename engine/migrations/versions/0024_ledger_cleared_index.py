"""issue_ledger.cleared_at indexed: the bulletin counts the issues cleared in its period

Revision ID: 0024_ledger_cleared_index
Revises: 0023_issue_clearance
Create Date: 2026-12-05
"""
from alembic import op


revision = '0024_ledger_cleared_index'
down_revision = '0023_issue_clearance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_issue_ledger_cleared', 'issue_ledger', ['cleared_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_issue_ledger_cleared', table_name='issue_ledger')
