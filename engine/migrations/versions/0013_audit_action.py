"""audit_action: an index on audit_event.action (the audit trails find instance starts by it)

Revision ID: 0013_audit_action
Revises: 0012_inbox_order
Create Date: 2026-11-30
"""
from alembic import op


revision = '0013_audit_action'
down_revision = '0012_inbox_order'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_action', 'audit_event', ['action'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_action', table_name='audit_event')
