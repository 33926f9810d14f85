"""统计's day tallies (statistics_process_day, statistics_step_day), kept at every save, and
the open tasks per step and holder indexed (covering): a period's figures are the sum of its
days' rows, not a pass over every task it ended

Revision ID: 0029_stats_day_tallies
Revises: 0028_ledger_project_index
Create Date: 2026-12-05

Filled here from the instance and task rows, as engine/bpm/statistics_days.py
`rebuild_day_tallies` counts them (one INSERT … SELECT … GROUP BY each).
"""
from alembic import op
import sqlalchemy as sa


revision = '0029_stats_day_tallies'
down_revision = '0028_ledger_project_index'
branch_labels = None
depends_on = None


def _day(column: str) -> str:
    """The Asia/Shanghai day of a UTC time column (+08:00 all year), as local_date writes it."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(timezone('Asia/Shanghai', {column}) AS DATE)"
    return f"date({column}, '+8 hours')"


def upgrade() -> None:
    op.create_index('ix_human_task_open_steps', 'human_task',
                    ['state', 'process_key', 'element_id', 'assignee', 'due_at'], unique=False)
    op.create_table('statistics_process_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'process_key', 'event', 'first_day')
    )
    op.create_table('statistics_step_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('ended_by', sa.String(length=100), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('due', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'process_key', 'element_id', 'state', 'ended_by',
                            'first_day', 'due')
    )
    started, ended, created = _day('started_at'), _day('ended_at'), _day('created_at')
    op.execute(f"INSERT INTO statistics_process_day (day, process_key, event, first_day, count) "
               f"SELECT {started}, process_key, 'started', {started}, count(*) "
               f"FROM process_instance GROUP BY {started}, process_key")
    op.execute(f"INSERT INTO statistics_process_day (day, process_key, event, first_day, count) "
               f"SELECT {ended}, process_key, status, {started}, count(*) FROM process_instance "
               f"WHERE ended_at IS NOT NULL AND status != 'running' "
               f"GROUP BY {ended}, process_key, status, {started}")
    due = ("CASE WHEN due_at IS NULL THEN 0 WHEN ended_at > due_at THEN 2 ELSE 1 END")
    op.execute(f"INSERT INTO statistics_step_day (day, process_key, element_id, state, ended_by, "
               f"first_day, due, count) "
               f"SELECT {ended}, process_key, element_id, state, coalesce(ended_by, ''), "
               f"{created}, {due}, count(*) FROM human_task "
               f"WHERE state IN ('completed', 'returned', 'withdrawn') AND ended_at IS NOT NULL "
               f"GROUP BY {ended}, process_key, element_id, state, coalesce(ended_by, ''), "
               f"{created}, {due}")


def downgrade() -> None:
    op.drop_table('statistics_step_day')
    op.drop_table('statistics_process_day')
    op.drop_index('ix_human_task_open_steps', table_name='human_task')
