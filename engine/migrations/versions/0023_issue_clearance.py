"""issue_clearance: the ledger's 清零率 tally per field and unit, each cleared issue's days, and
the index its pages are read by (newest first)

Revision ID: 0023_issue_clearance
Revises: 0022_deadline_extensions
Create Date: 2026-12-05

The tally starts empty: the first ledger page (or the worker's start) fills it from the ledger
rows (engine/county/issue_ledger.py refresh_projections), with the calendar the migration has
no access to.
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_issue_clearance'
down_revision = '0022_deadline_extensions'
branch_labels = None
depends_on = '0006_supervision_desk'


def upgrade() -> None:
    op.add_column('issue_ledger', sa.Column('clear_days', sa.Integer(), nullable=True))
    op.create_index('ix_issue_ledger_opened', 'issue_ledger', ['opened_at', 'instance_id'],
                    unique=False)
    op.create_table('issue_clearance',
    sa.Column('sub_command', sa.String(length=50), nullable=False),
    sa.Column('responsible_unit', sa.String(length=50), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('cleared', sa.Integer(), nullable=False),
    sa.Column('clear_days', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('sub_command', 'responsible_unit')
    )


def downgrade() -> None:
    op.drop_table('issue_clearance')
    op.drop_index('ix_issue_ledger_opened', table_name='issue_ledger')
    with op.batch_alter_table('issue_ledger') as batch:
        batch.drop_column('clear_days')
