"""schedule: the recurring work the worker runs (progress reports, plates, awards, dispatch)

Revision ID: 0017_schedule
Revises: 0016_project_registry
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_schedule'
down_revision = '0016_project_registry'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedule_entry',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_period', sa.String(length=20), nullable=False),
    sa.Column('counted_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_period', sa.String(length=20), nullable=True),
    sa.Column('last_outcome', sa.String(length=20), nullable=True),
    sa.Column('last_result', sa.Text(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_index('ix_schedule_entry_next_run_at', 'schedule_entry', ['next_run_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_schedule_entry_next_run_at', table_name='schedule_entry')
    op.drop_table('schedule_entry')
