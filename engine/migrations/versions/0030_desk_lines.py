"""desk_task: the 督办台's lines of open tasks of other processes than the issue process, with
their due time, unit, field, township and project, kept at save (engine/county/desk_lines.py)
so the desk counts and orders its late lines in SQL; reminder.task_id indexed (the desk
counts its task lines' reminders) and issue_ledger.listed (its listed issues)

Revision ID: 0030_desk_lines
Revises: 0029_stats_day_tallies
Create Date: 2026-12-05

Filled here by the engine's own INSERT … SELECT over the open tasks (set-based: a few
seconds at five years' size), the statement the save hook runs for one instance.
"""
from alembic import op
import sqlalchemy as sa



revision = '0030_desk_lines'
down_revision = '0029_stats_day_tallies'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('desk_task',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('responsible_unit', sa.String(length=200), nullable=True),
    sa.Column('by_assignee', sa.Boolean(), nullable=False),
    sa.Column('sub_command', sa.String(length=50), nullable=True),
    sa.Column('township', sa.String(length=50), nullable=True),
    sa.Column('project_code', sa.String(length=50), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id')
    )
    op.create_index('ix_desk_task_due', 'desk_task', ['due_at'], unique=False)
    op.create_index('ix_desk_task_unit_due', 'desk_task', ['responsible_unit', 'due_at'],
                    unique=False)
    op.create_index('ix_desk_task_sub_command_due', 'desk_task', ['sub_command', 'due_at'],
                    unique=False)
    op.create_index('ix_desk_task_instance', 'desk_task', ['instance_id'], unique=False)
    op.create_index('ix_reminder_task', 'reminder', ['task_id'], unique=False)
    op.create_index('ix_issue_ledger_listed', 'issue_ledger', ['listed', 'step'], unique=False)
    from engine.county.desk_lines import reproject
    reproject(op.get_bind(), sa.true(), lines=sa.true())


def downgrade() -> None:
    op.drop_index('ix_issue_ledger_listed', table_name='issue_ledger')
    op.drop_index('ix_reminder_task', table_name='reminder')
    op.drop_index('ix_desk_task_instance', table_name='desk_task')
    op.drop_index('ix_desk_task_sub_command_due', table_name='desk_task')
    op.drop_index('ix_desk_task_unit_due', table_name='desk_task')
    op.drop_index('ix_desk_task_due', table_name='desk_task')
    op.drop_table('desk_task')
