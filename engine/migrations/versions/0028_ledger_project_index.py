"""issue_ledger.project_code indexed: a project's sheet and 查账 trail find its issues by key

Revision ID: 0028_ledger_project_index
Revises: 0027_investment_cover
Create Date: 2026-12-05
"""
from alembic import op


revision = '0028_ledger_project_index'
down_revision = '0027_investment_cover'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_issue_ledger_project', 'issue_ledger', ['project_code', 'instance_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_issue_ledger_project', table_name='issue_ledger')
