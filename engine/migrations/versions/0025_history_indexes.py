"""Indexes a county after five years needs: 统计's instances and tasks of a period, a project
sheet's open tasks by business key (bench/county_history.py, issue 20)

Revision ID: 0025_history_indexes
Revises: 0024_ledger_cleared_index
Create Date: 2026-12-05
"""
from alembic import op


revision = '0025_history_indexes'
down_revision = '0024_ledger_cleared_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_instance_status_times', 'process_instance',
                    ['status', 'process_key', 'started_at', 'ended_at'], unique=False)
    op.create_index('ix_instance_started', 'process_instance',
                    ['started_at', 'process_key', 'status', 'ended_at'], unique=False)
    op.create_index('ix_instance_ended', 'process_instance',
                    ['ended_at', 'process_key', 'status', 'started_at'], unique=False)
    op.create_index('ix_human_task_ended', 'human_task', ['ended_at'], unique=False)
    op.create_index('ix_human_task_state_key', 'human_task', ['state', 'business_key'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_human_task_state_key', table_name='human_task')
    op.drop_index('ix_human_task_ended', table_name='human_task')
    op.drop_index('ix_instance_ended', table_name='process_instance')
    op.drop_index('ix_instance_started', table_name='process_instance')
    op.drop_index('ix_instance_status_times', table_name='process_instance')
