"""统计's open tasks per step kept as a tally (statistics_open_step), overdue and held open
tasks read from covering indexes: the page no longer groups every open task

Revision ID: 0033_stats_open_steps
Revises: 0032_board_projections
Create Date: 2026-12-05

ix_human_task_open_steps (every open task, grouped) gives way to ix_human_task_state_due
widened (the overdue ones only) and ix_human_task_open_holders (the held ones only).
"""
from alembic import op
import sqlalchemy as sa


revision = '0033_stats_open_steps'
down_revision = '0032_board_projections'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('statistics_open_step',
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('process_key', 'element_id')
    )
    op.execute("INSERT INTO statistics_open_step (process_key, element_id, count) "
               "SELECT process_key, element_id, count(*) FROM human_task "
               "WHERE state IN ('open', 'claimed') GROUP BY process_key, element_id")
    op.drop_index('ix_human_task_open_steps', table_name='human_task')
    op.drop_index('ix_human_task_state_due', table_name='human_task')
    op.create_index('ix_human_task_state_due', 'human_task',
                    ['state', 'due_at', 'process_key', 'element_id', 'assignee'], unique=False)
    op.create_index('ix_human_task_open_holders', 'human_task',
                    ['state', 'assignee', 'process_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_human_task_open_holders', table_name='human_task')
    op.drop_index('ix_human_task_state_due', table_name='human_task')
    op.create_index('ix_human_task_state_due', 'human_task', ['state', 'due_at'], unique=False)
    op.create_index('ix_human_task_open_steps', 'human_task',
                    ['state', 'process_key', 'element_id', 'assignee', 'due_at'], unique=False)
    op.drop_table('statistics_open_step')
